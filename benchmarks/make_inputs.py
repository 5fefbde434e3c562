"""Make the volume inputs of the benchmarks: a large real auditd log and a large k8s audit log.

auditd: a private auditd (its own config and log directory, as scripts/sample_logs/auditlab.py
does it) records a burst of real activity on this machine: tens of thousands of execs and file
opens (some denied) in a login session of ``nobody``, sudo and su logins of a throw-away user;
the log rotates into several files. Afterwards the daemon is stopped, the rules deleted, the user removed (the lab's
ExitStack undoes everything, even on failure). Needs root and Debian's ``auditd``.

k8s: the real audit.k8s.io Events of the shared corpus are replayed, in a loop, with fresh
auditIDs and timestamps, as JSON lines (what a kube-apiserver log backend writes).

Usage (root):  python3 benchmarks/make_inputs.py K8S_CORPUS_DIR [OUT_DIR]
(OUT_DIR defaults to benchmarks/.data; ``--only auditd|k8s`` makes one of the two).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pwd
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "scripts" / "sample_logs"))

import auditlab  # standard library only; lives beside the sample-log script  # noqa: E402

USER = "benchuser"
PASSWORD = "Bench-pw-1"
AUDITD_TARGET_MB = 150
K8S_TARGET_MB = 300
ROTATE_MB = 30


def step(msg: str) -> None:
    print(f"  - {msg}", flush=True)


# --------------------------------------------------------------------------- auditd

def bench_rules(data_dir: str) -> list[list[str]]:
    """Broad rules (every exec, opens under the data directory, denied opens, identity files)
    so that ordinary activity makes a large log quickly."""
    b64 = ["-F", "arch=b64"]
    return [
        ["-b", "65536"],
        ["-w", "/etc/passwd", "-p", "wa", "-k", "identity"],
        ["-w", "/etc/shadow", "-p", "rwa", "-k", "identity"],
        ["-w", "/etc/sudoers", "-p", "wa", "-k", "scope"],
        ["-a", "always,exit", *b64, "-S", "execve", "-k", "exec"],
        ["-a", "always,exit", *b64, "-S", "open,openat", "-F", "exit=-EACCES", "-k", "access"],
        ["-a", "always,exit", *b64, "-S", "open,openat", "-F", "exit=-EPERM", "-k", "access"],
        ["-a", "always,exit", *b64, "-S", "openat,unlinkat,fchmodat", "-F", f"dir={data_dir}",
         "-k", "data"],
    ]


def _as_user(uid: int, gid: int) -> Any:
    """preexec_fn: a login session of ``uid`` (loginuid set, as pam_loginuid does), then drop."""
    def become() -> None:
        with open("/proc/self/loginuid", "w") as f:
            f.write(str(uid))
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    return become


BURST = r"""
d="$1"; n="$2"
i=0
while [ "$i" -lt "$n" ]; do
  /bin/true
  cat "$d/f$((i % 50))" > /dev/null
  cat /etc/shadow > /dev/null 2>&1
  ls "$d" > /dev/null
  i=$((i + 1))
done
"""


def auditd_log(out: Path, work: Path) -> None:
    """Real auditd, real activity, rotated; concatenated oldest first into ``auditd.log``."""
    # the lab's config, with larger and more rotated files
    auditlab.AUDITD_CONF = (auditlab.AUDITD_CONF
                            .replace("max_log_file = 8", f"max_log_file = {ROTATE_MB}")
                            .replace("num_logs = 9", "num_logs = 99")
                            .replace("freq = 20", "freq = 1000"))
    shutil.rmtree(work / "auditd" / "log", ignore_errors=True)  # logs of an earlier run
    with auditlab.Lab(work) as lab:
        daemon = lab.auditd("bench-node", "RAW", "auditd")
        data = work / "data"
        data.mkdir(exist_ok=True)
        os.chmod(data, 0o755)
        for i in range(50):
            (data / f"f{i}").write_text(f"file {i}\n")
        step("rules")
        for r in bench_rules(str(data)):
            auditlab.run([auditlab.AUDITCTL, *r])
        lab.add_user(USER, PASSWORD)
        lab.sudoers("90-benchuser", f"{USER} ALL=(ALL:ALL) ALL\n")
        pw = pwd.getpwnam(USER)
        # The bulk of the activity runs as ``nobody`` (in a login session of its own): an
        # account every machine has, so ausearch -i / --format csv can name it wherever the
        # benchmark runs (ausearch re-reads /etc/passwd for every uid it cannot name, which
        # would make it several times slower and the comparison unfair to it).
        nobody = pwd.getpwnam("nobody")
        script = work / "burst.sh"
        script.write_text(BURST)
        os.chmod(script, 0o755)
        rounds = 0
        while daemon_size(daemon.log_dir) < AUDITD_TARGET_MB * 1_000_000:
            rounds += 1
            step(f"burst {rounds}: {daemon_size(daemon.log_dir) / 1e6:.0f} MB so far")
            subprocess.run(["/bin/sh", str(script), str(data), "2000"], cwd="/", check=True,
                           preexec_fn=_as_user(nobody.pw_uid, nobody.pw_gid),
                           env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
            for _ in range(20):  # sudo logins (password on stdin)
                subprocess.run(["/bin/sh", "-c", f"echo '{PASSWORD}' | sudo -S -p '' id"],
                               cwd="/", check=False, capture_output=True,
                               preexec_fn=_as_user(pw.pw_uid, pw.pw_gid),
                               env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
            for _ in range(2):  # su logins on a terminal
                auditlab.pty_run(["su", "-c", "id", USER], [PASSWORD], user=USER, timeout=15)
            auditlab.pty_run(["su", "-c", "id", "root"], ["wrong-password"], user=USER, timeout=15)
        daemon.settle(2)
        daemon.stop()
        files = sorted(daemon.log_dir.glob("audit.log*"),
                       key=lambda p: -int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
        rotated = out / "auditd-rotated"
        rotated.mkdir(parents=True, exist_ok=True)
        for old in rotated.glob("audit.log*"):
            old.unlink()
        with open(out / "auditd.log", "wb") as whole:
            for p in files:
                blob = p.read_bytes()
                (rotated / p.name).write_bytes(blob)
                whole.write(blob)
    step(f"auditd.log: {(out / 'auditd.log').stat().st_size / 1e6:.0f} MB in {len(files)} files")


def daemon_size(log_dir: Path) -> int:
    return sum(p.stat().st_size for p in log_dir.glob("audit.log*"))


# --------------------------------------------------------------------------- k8s

def _events_of(obj: Any) -> list[dict[str, Any]]:
    if isinstance(obj, list):
        return [e for o in obj for e in _events_of(o)]
    if not isinstance(obj, dict):
        return []
    if obj.get("kind") == "EventList" and isinstance(obj.get("items"), list):
        return _events_of(obj["items"])
    if "auditID" in obj and "verb" in obj and obj.get("kind", "Event") == "Event":
        return [obj]
    return []


def corpus_events(corpus: Path) -> list[dict[str, Any]]:
    """Plain audit.k8s.io Events of the corpus (wrapped forms are left out)."""
    events: list[dict[str, Any]] = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file() and p.name != "MANIFEST.tsv"):
        text = path.read_text(errors="replace")
        try:
            events += _events_of(json.loads(text))
            continue
        except ValueError:
            pass
        for line in text.splitlines():
            try:
                events += _events_of(json.loads(line))
            except ValueError:
                continue
    return events


def _stamp(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def k8s_log(corpus: Path, out: Path) -> None:
    """Replay the corpus Events with fresh auditIDs and timestamps until the target size."""
    events = corpus_events(corpus)
    if not events:
        raise SystemExit(f"no audit Events found under {corpus}")
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    step_us = 1_500
    target = K8S_TARGET_MB * 1_000_000
    written = 0
    n = 0
    with open(out / "k8s.jsonl", "w") as f:
        while written < target:
            for ev in events:
                t = start + dt.timedelta(microseconds=n * step_us)
                e = dict(ev)
                e["auditID"] = str(uuid.uuid4())
                e["requestReceivedTimestamp"] = _stamp(t)
                e["stageTimestamp"] = _stamp(t + dt.timedelta(microseconds=2_345))
                if isinstance(e.get("metadata"), dict):
                    e["metadata"] = {**e["metadata"], "creationTimestamp": _stamp(t)}
                if "timestamp" in e:
                    e["timestamp"] = _stamp(t)
                line = json.dumps(e, separators=(",", ":")) + "\n"
                f.write(line)
                written += len(line)
                n += 1
    step(f"k8s.jsonl: {written / 1e6:.0f} MB, {n} events ({len(events)} distinct replayed)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("k8s_corpus", type=Path, help="folder of real k8s audit logs to replay")
    ap.add_argument("out", type=Path, nargs="?", default=HERE / ".data")
    ap.add_argument("--only", choices=("auditd", "k8s"))
    ap.add_argument("--work", type=Path, default=Path("/tmp/auditlens-bench-lab"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    if args.only in (None, "k8s"):
        print("k8s", flush=True)
        k8s_log(args.k8s_corpus, args.out)
    if args.only in (None, "auditd"):
        print("auditd", flush=True)
        auditd_log(args.out, args.work)
    print(f"done in {time.monotonic() - t0:.0f} s: {args.out}")


if __name__ == "__main__":
    main()
