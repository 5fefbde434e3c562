"""Mutation fuzzer for the cloud C fast path (one-line IBM Cloud events): real-shaped event lines
(the fixtures' plain IBM events and the benchmark's event maker) with bytes cut, inserted (JSON
punctuation, escapes, bad UTF-8, the keys the builder looks for) and truncated, fed to the builder
in small and large batches, each line it leaves to Python skipped as the reader does. Meant to
run under AddressSanitizer (scripts/asan_fastpath.sh); it checks memory safety and that every
batch makes valid Arrow arrays, not the values (tests/test_cloud_native.py does).

Usage: python scripts/fuzz_cloud_fastpath.py [ITERATIONS] [SEED]
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
from _mutate import mutated

from auditlens.cloud import native

ROOT = Path(__file__).resolve().parent.parent
PIECES = (b'{}[]",:\\n\\t\\u00e9\\ud83d\\ude00\\udc00 true false null 0 -0 1.5 1e9 '
          b'12345678901234567890 \x00\x1f\x7f\x80\xc3\xa9\xed\xa0\x80\xf4\x90\x80\x80\xff '
          b'"eventTime" "action" "outcome" "reason" "reasonCode" "initiator" "target" '
          b'"requestData" "responseData" "observer" "severity" "credential" "host" "address" '
          b'"correlationId" "typeURI" "+0000" "2026-12-01T10:00:00.00+0000"')


def seeds(rng: random.Random) -> list[bytes]:
    """The fixtures' plain IBM event lines and a few hundred of the benchmark's events."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from cloud import event

    lines = (ROOT / "tests" / "data" / "cloud" / "ibm-events.jsonl").read_bytes().splitlines()
    t = datetime(2026, 11, 1, tzinfo=timezone.utc)
    lines += [orjson.dumps(event(rng, t + timedelta(seconds=i), "a1b2c3")) for i in range(300)]
    return [line for line in lines if line[:1] == b"{"]


def main() -> None:
    if native.Builder is None:
        raise SystemExit("the cloud C fast path is not compiled")
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    real = seeds(rng)
    builder = native.Builder()
    taken = 0
    for _ in range(iterations):
        lines = [mutated(rng, real, PIECES)] * rng.randint(1, 3)
        start = 0
        while start < len(lines):
            before = builder.rows
            limit = before + rng.choice([1, 2, 5, 1000])  # rows it may hold after this call
            stop = builder.add(lines, start, 1, "f.log", limit)
            taken += builder.rows - before
            start = stop + 1 if stop == start else stop  # a line for Python (or full): skipped
            if builder.rows >= 500 or builder.full() or rng.random() < 0.05:
                native.staged(builder.finish()).validate(full=True)
    print(f"{iterations} mutated lines from {len(real)} real-shaped ones, {taken} taken: no fault")


if __name__ == "__main__":
    main()
