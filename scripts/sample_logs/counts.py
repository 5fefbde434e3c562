"""Reference counts for sample_logs/auditd, computed with audit-userspace's own tools.

For each node directory the rotated files are joined oldest first (``.gz`` decompressed) and
``ausearch``/``aureport`` count events by record type, result and key. The numbers go into
``sample_logs/auditd/reference_counts.json`` (for tests) and between the ``counts`` markers of
``sample_logs/README.md`` (for people). They come from the reference tools, not from auditlens.

Usage: python3 scripts/sample_logs/counts.py sample_logs
"""

from __future__ import annotations

import gzip
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

CHECKS: list[tuple[str, list[str]]] = [
    ("USER_LOGIN success", ["-m", "USER_LOGIN", "--success", "yes"]),
    ("USER_LOGIN failed", ["-m", "USER_LOGIN", "--success", "no"]),
    ("USER_AUTH success", ["-m", "USER_AUTH", "--success", "yes"]),
    ("USER_AUTH failed", ["-m", "USER_AUTH", "--success", "no"]),
    ("USER_START", ["-m", "USER_START"]),
    ("USER_END", ["-m", "USER_END"]),
    ("LOGIN (auid set)", ["-m", "LOGIN"]),
    ("USER_CMD success", ["-m", "USER_CMD", "--success", "yes"]),
    ("USER_CMD failed", ["-m", "USER_CMD", "--success", "no"]),
    ("ADD_USER", ["-m", "ADD_USER"]),
    ("DEL_USER", ["-m", "DEL_USER"]),
    ("ADD_GROUP", ["-m", "ADD_GROUP"]),
    ("DEL_GROUP", ["-m", "DEL_GROUP"]),
    ("USER_CHAUTHTOK", ["-m", "USER_CHAUTHTOK"]),
    ("USER_MGMT", ["-m", "USER_MGMT"]),
    ("NETFILTER_CFG", ["-m", "NETFILTER_CFG"]),
    ("CONFIG_CHANGE", ["-m", "CONFIG_CHANGE"]),
    ("DAEMON_START", ["-m", "DAEMON_START"]),
    ("DAEMON_END", ["-m", "DAEMON_END"]),
    ("DAEMON_ROTATE", ["-m", "DAEMON_ROTATE"]),
    ("SYSCALL failed", ["-m", "SYSCALL", "--success", "no"]),
    ("key access", ["-k", "access"]),
    ("key audit-log-access", ["-k", "audit-log-access"]),
    ("key identity", ["-k", "identity"]),
    ("key scope", ["-k", "scope"]),
    ("key exec", ["-k", "exec"]),
    ("key user_emulation", ["-k", "user_emulation"]),
    ("key perm_mod", ["-k", "perm_mod"]),
    ("key delete", ["-k", "delete"]),
    ("key audit-tools", ["-k", "audit-tools"]),
]


def rotated(folder: Path) -> list[Path]:
    """audit.log.N … audit.log.1, audit.log (oldest first)."""
    def age(p: Path) -> int:
        m = re.fullmatch(r"audit\.log(?:\.(\d+))?(?:\.gz)?", p.name)
        return int(m.group(1) or 0) if m else -1
    return sorted((p for p in folder.iterdir() if age(p) >= 0), key=age, reverse=True)


def joined(folder: Path) -> bytes:
    return b"".join(gzip.open(p).read() if p.suffix == ".gz" else p.read_bytes() for p in rotated(folder))


def ausearch_events(log: Path, args: list[str]) -> int:
    """Number of events ausearch finds (it exits 1 when there are none)."""
    res = subprocess.run(["ausearch", "-if", str(log), "-i", *args], capture_output=True, text=True, check=False)
    return sum(1 for line in res.stdout.splitlines() if line == "----")


def node_counts(folder: Path) -> dict[str, object]:
    data = joined(folder)
    with tempfile.NamedTemporaryFile(suffix=".log") as tmp:
        tmp.write(data)
        tmp.flush()
        log = Path(tmp.name)
        counts = {name: ausearch_events(log, args) for name, args in CHECKS}
        total = ausearch_events(log, [])
        logins = subprocess.run(["aureport", "-if", str(log), "--login", "-i"], capture_output=True,
                                text=True, check=False).stdout
    login_rows = [line.split() for line in logins.splitlines() if re.match(r"^\d+\.", line)]
    return {
        "files": [p.name for p in rotated(folder)],
        "lines": data.count(b"\n"),
        "bytes": len(data),
        "events": total,
        "counts": counts,
        # aureport --login rows: date, time, user, host, terminal, exe, success, event
        "aureport_login": [r[1:] for r in login_rows],
    }


def markdown(ref: dict[str, dict[str, object]]) -> str:
    nodes = list(ref)
    out = ["| what (ausearch / aureport) | " + " | ".join(nodes) + " |",
           "|---|" + "---:|" * len(nodes)]
    for key in ("files", "lines", "events"):
        row = [", ".join(ref[n][key]) if key == "files" else str(ref[n][key]) for n in nodes]  # type: ignore[arg-type]
        out.append(f"| {key} | " + " | ".join(row) + " |")
    for name, _ in CHECKS:
        out.append(f"| {name} | " + " | ".join(str(ref[n]["counts"][name]) for n in nodes) + " |")  # type: ignore[index]
    out.append("")
    out.append("`aureport --login -i` (node-a):")
    out.append("")
    out.append("```")
    for row in ref["node-a"]["aureport_login"]:  # type: ignore[union-attr]
        out.append(" ".join(row))
    out.append("```")
    return "\n".join(out)


def main() -> int:
    root = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("sample_logs")
    base = root / "auditd"
    ref = {d.name: node_counts(d / "var" / "log" / "audit")
           for d in sorted(base.iterdir()) if (d / "var" / "log" / "audit").is_dir()}
    (base / "reference_counts.json").write_text(json.dumps(ref, indent=1) + "\n")
    readme = root / "README.md"
    text = readme.read_text()
    start, end = "<!-- counts:start -->", "<!-- counts:end -->"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        readme.write_text(f"{head}{start}\n{markdown(ref)}\n{end}{tail}")
    print(markdown(ref))
    return 0


if __name__ == "__main__":
    sys.exit(main())
