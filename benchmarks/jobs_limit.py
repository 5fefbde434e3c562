"""``jobs=2`` against the same-run two-process limit, for comparing versions of the scheduler.

The limit is the one ``run.py`` reports: two one-process reads of a file's two halves started
together. Each round runs, in a rotating order, the pair and ``jobs=2`` once per version under
test (``--tree NAME=DIR``: DIR goes first on ``PYTHONPATH``), and gives per version the round's
ratio pair / ``jobs=2`` (1.0: as fast as the perfect split). Versions are compared within rounds
(the machine's speed drifts from minute to minute), as the median and range over the rounds.

    python benchmarks/jobs_limit.py DATA --tree base=../base --tree new=. --rounds 9
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import (  # noqa: E402
    PY_AUDITD,
    PY_AUDITD_JOBS,
    PY_EACH,
    PY_K8S,
    PY_K8S_JOBS,
    byte_compiled,
    halves,
    times4,
)

READS = {"auditd": ("auditd.log", PY_AUDITD, PY_AUDITD_JOBS),
         "k8s": ("k8s.jsonl", PY_K8S, PY_K8S_JOBS)}


def timed(argv: list[str], tree: str) -> float:
    """Wall seconds of one run with ``tree`` first on the module path; output discarded."""
    env = {**os.environ, "PYTHONPATH": tree}
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          check=False)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"failed: {argv}\n{proc.stderr.decode(errors='replace')[-2000:]}")
    return wall


def spread(values: list[float]) -> str:
    values = sorted(values)
    return f"{statistics.median(values):.3f} ({values[0]:.3f}-{values[-1]:.3f}, n={len(values)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data", type=Path)
    ap.add_argument("--tree", action="append", required=True, help="NAME=DIR, one per version")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--kind", action="append", choices=sorted(READS))
    args = ap.parse_args()
    trees = dict(t.split("=", 1) for t in args.tree)
    trees = {name: str(Path(d).resolve()) for name, d in trees.items()}
    for tree in trees.values():
        byte_compiled(Path(tree))
    first = next(iter(trees.values()))
    py = sys.executable
    for kind in args.kind or sorted(READS):
        name, one, two = READS[kind]
        big = times4(args.data / name)
        parts = [str(p) for p in halves(big)]
        runs: dict[str, list[float]] = {"pair": [], **{t: [] for t in trees}}
        argvs = {"pair": ([py, "-c", PY_EACH, one, *parts], first),
                 **{t: ([py, "-c", two, str(big)], d) for t, d in trees.items()}}
        order = list(argvs)
        for r in range(args.rounds):
            turn = order[r % len(order):] + order[:r % len(order)]
            for label in turn:
                runs[label].append(timed(*argvs[label]))
            print(f"{kind} round {r + 1}: "
                  + ", ".join(f"{label} {runs[label][-1]:.2f}s" for label in order), flush=True)
        print(f"== {kind}: pair {spread(runs['pair'])} s")
        for t in trees:
            ratios = [p / j for p, j in zip(runs["pair"], runs[t])]
            print(f"   {t}: jobs=2 {spread(runs[t])} s; limit ratio {spread(ratios)}")
        names = list(trees)
        for t in names[1:]:
            gain = [a / b for a, b in zip(runs[names[0]], runs[t])]
            print(f"   {names[0]} / {t} time, round by round: {spread(gain)}")


if __name__ == "__main__":
    main()
