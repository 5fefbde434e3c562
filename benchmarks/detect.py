"""Benchmark: Sigma rules over audit logs — auditlens (pySigma → Arrow compute) against the
reference approach (the same rules converted by pySigma's SQLite backend, run over the same
records loaded into an in-memory SQLite table, one row per log line, the way Zircolite works).

Rules: every rule of the pinned SigmaHQ copy (auditd and Kubernetes audit) plus auditlens'
built-in pack. Inputs: the first ``--mb`` megabytes of the benchmark files made by
``make_inputs.py`` (``auditd.log``, ``k8s.jsonl``), cut at a line boundary and kept beside them.
Each approach runs in its own child process, so that its peak RSS is its own; both start from
the log files (read + load + every rule) and report the time of each step. Not a test: run by
hand on a quiet machine and copy the figures into docs/benchmarks.md.

Usage: python benchmarks/detect.py SIGMA_DIR [--data benchmarks/.data] [--mb 32] [--only NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def cut(src: Path, dest: Path, mb: int) -> Path:
    """The first ``mb`` MB of ``src`` ending at a line boundary (made once, then reused)."""
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    with src.open("rb") as f:
        data = f.read(mb * 1024 * 1024)
        data += f.readline()
    dest.write_bytes(data)
    return dest


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- auditlens -----------------------------------------------------------------------------

def run_auditlens(auditd: Path, k8s: Path, sigma: Path) -> dict[str, Any]:
    """What ``auditlens detect`` does: the logs read and run through the rules a part at a
    time (reading and evaluating interleave, so they are timed together)."""
    from auditlens.detections import load_rules, run_detections

    t0 = time.perf_counter()
    rules = load_rules([sigma])
    t1 = time.perf_counter()
    result = run_detections([auditd, k8s], rules)
    t2 = time.perf_counter()
    return {"rules_loaded": len(rules.rules) + len(rules.correlations),
            "rules_run": sum(1 for a in result.rules["applicable"].to_pylist() if a),
            "records": sum(result.inputs.values()), "matches": result.matches.num_rows,
            "load_rules_s": t1 - t0, "read_evaluate_s": t2 - t1}


# --- the reference: pySigma's SQLite backend over an in-memory table ------------------------

_PAIR = re.compile(r'(\w+)=("[^"]*"|\'[^\']*\'|\S+)')


def _auditd_row(line: str) -> dict[str, str]:
    """One auditd line → a flat row, as Zircolite's auditd mode does: key=value pairs, quotes
    removed, the msg='…' of user-space records opened, proctitle decoded from hex; the serial is
    not kept apart (it stays inside the msg text)."""
    row: dict[str, str] = {}
    for key, value in _PAIR.findall(line):
        if value[:1] in "\"'":
            value = value[1:-1]
            if key == "msg":
                for k, v in _PAIR.findall(value):
                    row[k] = v.strip('"')
                continue
        row[key] = value
    title = row.get("proctitle")
    if title and re.fullmatch(r"(?:[0-9A-F]{2})+", title):
        row["proctitle"] = bytes.fromhex(title).replace(b"\0", b" ").decode(errors="replace")
    return row


def _flatten(obj: Any, prefix: str = "", out: dict[str, str] | None = None) -> dict[str, str]:
    out = {} if out is None else out
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(v, f"{prefix}{k}.", out)
    else:
        out[prefix[:-1]] = obj if isinstance(obj, str) else json.dumps(obj)
    return out


def run_sqlite(auditd: Path, k8s: Path, sigma: Path) -> dict[str, Any]:
    from sigma.backends.sqlite import sqliteBackend
    from sigma.collection import SigmaCollection
    from sigma.exceptions import SigmaError

    from auditlens.detections.loading import builtin_folder

    t0 = time.perf_counter()
    collection = SigmaCollection.load_ruleset([sigma, builtin_folder()], collect_errors=True)
    backend = sqliteBackend()
    queries: list[str] = []
    failed = 0
    for rule in collection.rules:
        try:
            queries.extend(backend.convert_rule(rule))
        except (SigmaError, NotImplementedError, ValueError, TypeError, AttributeError):  # e.g. correlations
            failed += 1
    t1 = time.perf_counter()
    rows: list[dict[str, str]] = []
    with auditd.open(encoding="utf-8", errors="replace") as f:
        rows.extend(_auditd_row(line) for line in f)
    with k8s.open(encoding="utf-8") as f:
        rows.extend(_flatten(json.loads(line)) for line in f if line.strip())
    columns = sorted({k for r in rows for k in r})
    db = sqlite3.connect(":memory:")
    quoted = ", ".join(f"`{c}` TEXT COLLATE NOCASE" for c in columns)
    db.execute(f"CREATE TABLE logs ({quoted})")
    marks = ", ".join("?" for _ in columns)
    db.executemany(f"INSERT INTO logs VALUES ({marks})", ([r.get(c) for c in columns] for r in rows))
    n = len(rows)
    del rows
    t2 = time.perf_counter()
    matches = 0
    for q in queries:
        try:
            matches += len(db.execute(q).fetchall())
        except sqlite3.Error:  # a column no input line has
            pass
    t3 = time.perf_counter()
    return {"rules_loaded": len(collection.rules), "rules_run": len(queries),
            "rules_not_converted": failed, "records": n, "matches": matches,
            "load_rules_s": t1 - t0, "read_s": t2 - t1, "evaluate_s": t3 - t2,
            "read_evaluate_s": t3 - t1}


APPROACHES = {"auditlens": run_auditlens, "sqlite": run_sqlite}


def child(name: str, auditd: Path, k8s: Path, sigma: Path) -> None:
    got = APPROACHES[name](auditd, k8s, sigma)
    got["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(got))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sigma", type=Path, help="the SigmaHQ rules folder (auditd and Kubernetes rules)")
    parser.add_argument("--data", type=Path, default=HERE / ".data")
    parser.add_argument("--mb", type=int, default=32, help="megabytes of each input file")
    parser.add_argument("--only", choices=list(APPROACHES), help="run one approach (e.g. "
                        "auditlens alone on the whole files: --mb 0)")
    parser.add_argument("--child", choices=list(APPROACHES), help=argparse.SUPPRESS)
    parser.add_argument("--auditd", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--k8s", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.auditd, args.k8s, args.sigma)
        return
    if args.mb:
        auditd = cut(args.data / "auditd.log", args.data / f"detect-{args.mb}mb" / "auditd.log", args.mb)
        k8s = cut(args.data / "k8s.jsonl", args.data / f"detect-{args.mb}mb" / "k8s.jsonl", args.mb)
    else:  # the whole files
        auditd, k8s = args.data / "auditd.log", args.data / "k8s.jsonl"
    size = (auditd.stat().st_size + k8s.stat().st_size) / 2**20
    print(f"inputs: {auditd} + {k8s} = {size:.1f} MB; CPUs: {os.cpu_count()}; "
          f"load average: {os.getloadavg()[0]:.2f}")
    results = {}
    for name in [args.only] if args.only else APPROACHES:
        out = subprocess.run([sys.executable, __file__, str(args.sigma), "--child", name,
                              "--auditd", str(auditd), "--k8s", str(k8s)],
                             check=True, capture_output=True, text=True)
        results[name] = json.loads(out.stdout.strip().splitlines()[-1])
    if args.only:
        print(json.dumps(results[args.only], indent=1))
        print(f"peak RSS / input: {results[args.only]['peak_rss_mb'] / size:.2f}")
        return
    keys = ["records", "rules_loaded", "rules_run", "matches", "load_rules_s", "read_s",
            "evaluate_s", "read_evaluate_s", "peak_rss_mb"]
    print(f"{'':22}" + "".join(f"{n:>14}" for n in APPROACHES))
    for key in keys:
        vals = [results[n].get(key) for n in APPROACHES]
        print(f"{key:22}" + "".join(f"{v:>14.2f}" if isinstance(v, float) else f"{v!s:>14}" for v in vals))
    ours, ref = results["auditlens"], results["sqlite"]
    speed = ref["read_evaluate_s"] / ours["read_evaluate_s"]
    print(f"read+evaluate: auditlens {ours['read_evaluate_s']:.2f} s, sqlite "
          f"{ref['read_evaluate_s']:.2f} s ({speed:.1f}x); records/s: auditlens "
          f"{ours['records'] / ours['read_evaluate_s']:,.0f}, sqlite "
          f"{ref['records'] / ref['read_evaluate_s']:,.0f}; peak RSS / input: auditlens "
          f"{ours['peak_rss_mb'] / size:.2f}, sqlite {ref['peak_rss_mb'] / size:.2f}")

if __name__ == "__main__":
    main()
