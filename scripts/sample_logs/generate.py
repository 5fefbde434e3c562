"""Produce sample_logs/auditd/ from real auditd runs on this machine (see sample_logs/README.md).

Two runs of the same scenario: node-a with ``log_format = RAW``, node-b with ``ENRICHED``
(the RHEL CoreOS default). Each run starts a private auditd, loads CIS/STIG-style rules, does
real things (accounts, SSH logins good and bad, sudo, su, denied opens, nft/iptables, audit rule
changes), rotating the log between phases, then undoes everything. Afterwards the logs are
copied into a ``/var/log/audit`` layout per node, one rotated file is gzipped (as a collector
would), a copy of node-a has a range of serials cut out (``gap``), machine names are checked
for, and a manifest of reference counts (from ausearch/aureport) is written.

Usage (root): python3 scripts/sample_logs/generate.py OUT_DIR   (normally via make_sample_logs.sh)
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import signal
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from auditlab import AuditDaemon, Lab, LabError, load_rules, run

WORK = Path("/tmp/auditlens-sample")
NODES = {"node-a": "RAW", "node-b": "ENRICHED"}
PASSWORDS = {"alice": "Alice-pw-1", "bob": "Bob-pw-1", "carol": "Carol-pw-1"}
ATTACKER = "127.0.0.23"          # a second loopback address, so failed logins have their own source
GAP_SERIALS = 25                 # how many consecutive serials the gap copy loses


def step(msg: str) -> None:
    print(f"  - {msg}", flush=True)


def sudo(cmd: str, user: str = "alice") -> str:
    """A shell line that runs ``cmd`` with sudo, typing the user's password on stdin."""
    return f"echo '{PASSWORDS[user]}' | sudo -S -p '' {cmd}"


def scenario(lab: Lab, daemon: AuditDaemon, node: str) -> None:
    """The things that happen on one node, in phases separated by log rotations."""
    log_dir = str(daemon.log_dir)
    step("rules")
    load_rules(log_dir)

    step("accounts set up by root (no login session)")
    lab.add_group("ops")
    lab.add_user("alice", PASSWORDS["alice"], "-G", "ops", "-c", "Alice Admin")
    lab.add_user("bob", PASSWORDS["bob"], "-c", "Bob Builder")
    run(["usermod", "-c", "Bob B. Builder", "bob"])
    run(["chage", "-M", "90", "alice"])
    lab.sudoers("90-alice", "alice ALL=(ALL:ALL) ALL\n")
    secret = lab.secret_file()
    lab.snapshot()
    daemon.settle()
    daemon.rotate()

    step("sshd on loopback; failed and invalid-user logins")
    ssh = lab.sshd(["alice", "bob", "carol"])
    for _ in range(2):
        ssh.ssh("alice", "guess-1234", "id", bind=ATTACKER)
    ssh.ssh("oracle", "oracle", "id", bind=ATTACKER)
    ssh.ssh("admin", "admin123", "id", host="::1")
    ssh.ssh("bob", "bob", "id", host="::1")

    step("alice logs in and administers with sudo")
    lab.watch_user("carol")
    alice_cmds = "; ".join([
        "id", "uptime",
        sudo("-v"),
        "sudo -n id",
        "sudo -n cat /etc/shadow > /dev/null",
        "sudo -n nft add table inet al_lab",
        "sudo -n nft add chain inet al_lab input '{ type filter hook input priority 0; policy accept; }'",
        "sudo -n nft add rule inet al_lab input tcp dport 2222 counter",
        "sudo -n nft delete table inet al_lab",
        "sudo -n iptables -N AL_LAB",
        "sudo -n iptables -A AL_LAB -s 192.0.2.66 -j DROP",
        "sudo -n iptables -D AL_LAB -s 192.0.2.66 -j DROP",
        "sudo -n iptables -X AL_LAB",
        "sudo -n useradd -M -s /bin/bash -c 'Carol Contractor' carol",
        f"echo 'carol:{PASSWORDS['carol']}' | sudo -n chpasswd",
        "sudo -n usermod -L carol",
        "sudo -n auditctl -w /etc/hosts -p wa -k hosts-file",
        "sudo -n auditctl -W /etc/hosts -p wa -k hosts-file",
        f"sudo -n tail -n 1 {log_dir}/audit.log > /dev/null",
    ])
    lab.forget_netfilter("al_lab", "AL_LAB")
    code, text = ssh.ssh_tty("alice", PASSWORDS["alice"], alice_cmds, [], timeout=60)
    if code != 0:
        raise LabError(f"alice's session failed ({code}): {text.strip()[-300:]}")
    lab.snapshot()

    step("bob logs in: denied opens, sudo refused, su with a wrong then the right password")
    bob_cmds = "; ".join([
        f"cat {secret}",
        f"ls {log_dir}",
        "echo x >> /etc/passwd",
        "true",
    ])
    ssh.ssh("bob", PASSWORDS["bob"], bob_cmds)
    ssh.ssh("bob", PASSWORDS["bob"], sudo("id", "bob"))
    ssh.ssh_tty("bob", PASSWORDS["bob"], "su -c id alice; su -c whoami alice",
                ["not-alices-password", PASSWORDS["alice"]])
    daemon.settle()
    daemon.rotate()

    step("alice again from ::1: a wrong sudo password, then carol removed, a group added and removed")
    alice2 = "; ".join([
        "echo wrong | sudo -S -p '' id",
        sudo("groupadd auditors"),
        sudo("usermod -aG auditors carol"),
        sudo("groupdel auditors"),
        sudo("userdel carol"),
    ])
    res = ssh.ssh("alice", PASSWORDS["alice"], alice2, host="::1")
    if res.returncode != 0:
        raise LabError(f"alice's second session failed: {res.stderr.strip()}")
    lab.snapshot()
    ssh.stop()

    step("tear down by root: sudoers drop-in, users and group removed, rules deleted")
    run(["rm", "-f", "/etc/sudoers.d/90-alice"])
    lab.del_user("alice")
    lab.del_user("bob")
    lab.del_group("ops")
    run(["auditctl", "-D"])
    daemon.settle(2.5)   # past end_of_event_timeout, so every event is written


def one_node(node: str, fmt: str, out: Path) -> dict[str, list[str]]:
    """Run the scenario for one node; copy its logs to OUT/node/var/log/audit."""
    print(f"{node} ({fmt})", flush=True)
    with Lab(WORK) as lab:
        daemon = lab.auditd(node, fmt, node)
        scenario(lab, daemon, node)
        daemon.stop()
        accounts = lab.accounts
    dest = out / node / "var" / "log" / "audit"
    dest.mkdir(parents=True)
    for f in sorted(daemon.log_dir.iterdir()):
        shutil.copyfile(f, dest / f.name)
    os.chmod(dest, 0o755)
    for f in dest.iterdir():
        os.chmod(f, 0o644)
    etc = out / node / "etc"
    etc.mkdir()
    (etc / "passwd").write_text("\n".join(accounts["passwd"]) + "\n")
    (etc / "group").write_text("\n".join(accounts["group"]) + "\n")
    return accounts


# --------------------------------------------------------------------------- post-processing

_HEX = re.compile(r"=([0-9A-F]{6,})(?=[ \x1d\n]|$)")


def decoded(text: str) -> str:
    """The text with hex-encoded values decoded, so leaks inside proctitle/argv show too."""
    def dec(m: re.Match[str]) -> str:
        try:
            return "=" + bytes.fromhex(m.group(1)).decode("utf-8", "replace").replace("\0", " ")
        except ValueError:
            return m.group(0)
    return _HEX.sub(dec, text)


def leaks(out: Path) -> list[str]:
    """Machine-specific strings found in the output (should be none)."""
    host = socket.gethostname()
    words = {host, socket.getfqdn()} - {"localhost", ""}
    words |= {p for p in (os.environ.get("SUDO_USER"),) if p}
    words |= {ip for ip in run(["hostname", "-I"], check=False).stdout.split()}
    words |= {e.pw_name for e in _local_users()}
    repo = Path(__file__).resolve().parents[2]
    patterns = [re.compile(re.escape(str(repo.parent) + "/"))]
    patterns.append(re.compile(r"/root/|\.pyenv|/home/(?!alice|bob|carol)"))
    patterns += [re.compile(r"(?<![\w.-])" + re.escape(w) + r"(?![\w-])") for w in words if len(w) > 1]
    found = []
    for f in sorted(out.rglob("*")):
        if not f.is_file():
            continue
        raw = gzip.decompress(f.read_bytes()) if f.suffix == ".gz" else f.read_bytes()
        text = decoded(raw.decode("utf-8", "replace"))
        for p in patterns:
            for m in p.finditer(text):
                line = text[text.rfind("\n", 0, m.start()) + 1: text.find("\n", m.end())]
                found.append(f"{f.relative_to(out)}: {p.pattern!r}: {line[:200]}")
    return found


def _local_users() -> list:
    import pwd
    return [e for e in pwd.getpwall() if 1000 <= e.pw_uid < 60000 and e.pw_name not in PASSWORDS]


def neutralise(out: Path) -> int:
    """Replace this machine's host name where programs wrote it (shadow-utils logs
    ``hostname=$(hostname)`` when run from a terminal) by the node's name."""
    host = socket.gethostname()
    n = 0
    rx = re.compile(r"(?<=[ =\"'])" + re.escape(host) + r"(?=[ \"'\x1d\n])")
    for f in out.rglob("audit.log*"):
        node = f.relative_to(out).parts[0]
        text = f.read_text()
        new, k = rx.subn(node, text)
        if k:
            f.write_text(new)
            n += k
    return n


_SERIAL = re.compile(r"msg=audit\(\d+\.\d+:(\d+)\)")


GAP_NODE = "node-gap"


def cut_gap(out: Path) -> dict[str, object]:
    """gap/: node-a's audit.log.2 with GAP_SERIALS consecutive serials removed from its middle
    (auditd's own DAEMON_* records have a separate numbering and are left alone), logged under
    its own node name so that reading all of sample_logs/ does not mix it into node-a; node-a's
    passwd/group files go with it."""
    src = out / "node-a" / "var" / "log" / "audit" / "audit.log.2"
    dest = out / "gap" / "var" / "log" / "audit" / "audit.log"
    dest.parent.mkdir(parents=True)
    lines = src.read_text().splitlines(keepends=True)
    serials = sorted({int(m.group(1)) for line in lines if "type=DAEMON_" not in line
                      for m in [_SERIAL.search(line)] if m})
    mid = len(serials) // 2
    first, last = serials[mid], serials[mid + GAP_SERIALS - 1]
    kept, removed = [], 0
    for line in lines:
        m = _SERIAL.search(line)
        if m and "type=DAEMON_" not in line and first <= int(m.group(1)) <= last:
            removed += 1
            continue
        kept.append(line)
    dest.write_text("".join(kept).replace("node=node-a ", f"node={GAP_NODE} "))
    for name in ("passwd", "group"):
        (out / "gap" / "etc").mkdir(exist_ok=True)
        shutil.copyfile(out / "node-a" / "etc" / name, out / "gap" / "etc" / name)
    return {"node": GAP_NODE, "file": "gap/var/log/audit/audit.log", "copied_from": "node-a/var/log/audit/audit.log.2",
            "first_removed_serial": first, "last_removed_serial": last,
            "serials_removed": last - first + 1, "lines_removed": removed,
            "last_serial_before": serials[mid - 1], "first_serial_after": serials[mid + GAP_SERIALS]}


def gzip_one(out: Path) -> str:
    """node-b's audit.log.2 → audit.log.2.gz, as a log collector would store it."""
    f = out / "node-b" / "var" / "log" / "audit" / "audit.log.2"
    with open(f, "rb") as src, gzip.GzipFile(f.with_name(f.name + ".gz"), "wb", mtime=0) as dst:
        shutil.copyfileobj(src, dst)
    f.unlink()
    return str(f.relative_to(out)) + ".gz"


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1]).resolve()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if WORK.exists():
        shutil.rmtree(WORK)
    tmp_out = WORK.with_name(WORK.name + "-out")
    if tmp_out.exists():
        shutil.rmtree(tmp_out)
    started = time.monotonic()
    try:
        for node, fmt in NODES.items():
            one_node(node, fmt, tmp_out)
        replaced = neutralise(tmp_out)
        gz = gzip_one(tmp_out)
        gap = cut_gap(tmp_out)
        found = leaks(tmp_out)
        if found:
            print("machine-specific strings found; not writing the output:", file=sys.stderr)
            print("\n".join(found[:40]), file=sys.stderr)
            return 1
        manifest = {"generated_by": "scripts/make_sample_logs.sh",
                    "nodes": {n: {"log_format": f} for n, f in NODES.items()},
                    "gzipped": gz, "gap": gap, "hostnames_replaced": replaced}
        (tmp_out / "gap.json").write_text(json.dumps(gap, indent=2) + "\n")
        for sub in ("node-a", "node-b", "gap", "gap.json"):
            target = out / sub
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        out.mkdir(parents=True, exist_ok=True)
        for item in tmp_out.iterdir():
            shutil.move(str(item), out / item.name)
        print(json.dumps(manifest, indent=2))
        print(f"done in {time.monotonic() - started:.0f} s")
        return 0
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
        shutil.rmtree(tmp_out, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except LabError as exc:
        print(f"make_sample_logs: {exc}", file=sys.stderr)
        sys.exit(1)
