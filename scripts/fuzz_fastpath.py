"""Mutation fuzzer for the k8s C fast path: real Event lines with bytes cut, inserted (JSON
punctuation, escapes, bad UTF-8, the keys the builder looks for) and truncated, fed to the builder
in small and large batches. Meant to run under AddressSanitizer (scripts/asan_fastpath.sh); it
checks memory safety and that every chunk makes valid Arrow arrays, not the values (the tests do).

Usage: python scripts/fuzz_fastpath.py CORPUS_K8S_DIR [ITERATIONS] [SEED]
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from _mutate import mutated

from auditlens.k8s import native
from auditlens.k8s.build import RAW_STRUCT
from auditlens.k8s.event import Origin

PIECES = (b'{}[]",:\\n\\t\\u00e9\\ud83d\\ude00\\udc00 true false null 0 -0 1.5 1e9 '
          b'12345678901234567890 \x00\x1f\x7f\x80\xc3\xa9\xed\xa0\x80\xf4\x90\x80\x80\xff '
          b'"auditID" "user" "annotations" "k8s_audit_level" "openshift" "log_type" "audit" '
          b'"requestObject" "groups" "extra" "code" "apiVersion" "kind" "Event"')


def main() -> None:
    if native.Builder is None:
        raise SystemExit("the C fast path is not compiled")
    corpus = Path(sys.argv[1])
    iterations = int(sys.argv[2]) if len(sys.argv) > 2 else 50_000
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    seeds = [line for path in sorted(corpus.rglob("*")) if path.is_file()
             for line in path.read_bytes().splitlines(keepends=True)[:200] if line[:1] == b"{"]
    if not seeds:
        raise SystemExit(f"no JSON lines under {corpus}")
    contexts = [native.context(Origin("a.log")),
                native.context(Origin("b.log", keep_objects=False, cluster="c", chain="cri",
                                      truncated=True, time="2024-01-01T00:00:00Z"))]
    builder = native.Builder()
    taken = 0
    for _ in range(iterations):
        lines = [mutated(rng, seeds, PIECES)] * rng.randint(1, 3)
        taken += builder.add(lines, 0, 1, rng.choice(contexts), rng.choice([1, 2, 5, 1000]))
        if builder.rows >= 500 or rng.random() < 0.05:
            for array in native.arrays(builder.finish(), RAW_STRUCT):
                array.validate(full=True)
    print(f"{iterations} mutated lines from {len(seeds)} real ones, {taken} taken: no fault")


if __name__ == "__main__":
    main()
