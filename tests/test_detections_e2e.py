"""Real triggers: a real auditd on this machine records real actions, and the SigmaHQ rules
auditlens claims to cover (plus the built-in pack) fire on the log — and the same rules' hits
on the benign sample logs are counted and limited to what those logs really did.

Root only (skips otherwise, with the reason). The lab (tests/system_helpers.py) runs a private
auditd with its own configuration and undoes everything (rules, users, daemons) even when the
test fails. The audit rules added here are limited to this test process's children
(``-F ppid=``) so that other work on the machine stays out of the log.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pytest

pytest.importorskip("sigma", reason="pySigma (the detect extra) is not installed")

from auditlens.detections import load_rules, run_detections  # noqa: E402

pytestmark = pytest.mark.system

# SigmaHQ rule file → the action below that it detects
CLAIMED = {
    "rules/linux/auditd/execve/lnx_auditd_data_exfil_wget.yml": "wget --post-file",
    "rules/linux/auditd/execve/lnx_auditd_find_cred_in_files.yml": "grep password",
    "rules/linux/auditd/execve/lnx_auditd_file_or_folder_permissions.yml": "chmod 644",
    "rules/linux/auditd/execve/lnx_auditd_user_discovery.yml": "whoami",
    "rules/linux/auditd/lnx_auditd_system_info_discovery.yml": "uname -a",
    "rules/linux/auditd/syscall/lnx_auditd_susp_discovery_sysinfo_syscall.yml": "sysinfo(2)",
    "rules/linux/auditd/syscall/lnx_auditd_split_file_into_pieces.yml": "split",
    "rules/linux/auditd/execve/lnx_auditd_data_compressed.yml": "zip, tar -c",
    "rules/linux/auditd/execve/lnx_auditd_chattr_immutable_removal.yml": "chattr -i",
    "rules/linux/auditd/execve/lnx_auditd_hidden_files_directories.yml": "touch .hidden",
    "rules/linux/auditd/execve/lnx_auditd_change_file_time_attr.yml": "touch -t",
    "rules/linux/auditd/path/lnx_auditd_auditing_config_change.yml": "read /etc/audit/auditd.conf",
    "rules/linux/auditd/syscall/lnx_auditd_create_account.yml": "useradd",
}

BUILTIN = {
    "builtin/auditd_audit_rules_deleted.yml": "auditctl -W",
    "builtin/auditd_audit_daemon_stopped.yml": "auditd stopped at the end",
    "builtin/auditd_setuid_file.yml": "chmod u+s",
    "builtin/auditd_ssh_brute_force.yml": "5 failed ssh logins, then a good one",
}

# what the script that made sample_logs/ really did (scripts/sample_logs/): hits of these
# rules there are true, not false, positives
SAMPLE_LOGS_DID = {
    "rules/linux/auditd/syscall/lnx_auditd_create_account.yml",  # useradd of the lab users
    "rules/linux/auditd/execve/lnx_auditd_user_discovery.yml",   # id, whoami in sessions
    "rules/linux/auditd/lnx_auditd_system_info_discovery.yml",   # hostname, uname
}


def _why_skip() -> str | None:
    from system_helpers import why_not_available

    reason = why_not_available()
    if reason:
        return reason
    for tool in ("sshd", "ssh", "wget", "zip", "tar", "split", "chattr", "useradd"):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} not installed"
    if not Path("/etc/audit/auditd.conf").exists():
        return "/etc/audit/auditd.conf absent"
    return None


def _run(*argv: str) -> None:
    subprocess.run(argv, check=False, capture_output=True, timeout=30, cwd="/")


@pytest.fixture(scope="module")
def log() -> Iterator[Path]:
    reason = _why_skip()
    if reason:
        pytest.skip(f"real-trigger detection test: {reason}")
    from system_helpers import Lab, free_port

    tag = secrets.token_hex(3)
    user, password = f"dtu{tag}", f"Pw-{secrets.token_hex(6)}"
    work = Path(tempfile.mkdtemp(prefix="auditlens-detect-"))
    files = work / "files"
    files.mkdir()
    target = files / "f"
    target.write_text("some data\n")
    me = str(os.getpid())
    try:
        with Lab(work) as lab:
            daemon = lab.auditd("detect-node", "RAW", "auditd")
            auditctl = shutil.which("auditctl") or "/usr/sbin/auditctl"
            for rule in (["-a", "always,exit", "-F", "arch=b64", "-S", "execve", "-F", f"ppid={me}"],
                         ["-a", "always,exit", "-F", "arch=b64", "-S", "sysinfo", "-F", f"ppid={me}"],
                         ["-a", "always,exit", "-F", "arch=b64", "-S", "chmod,fchmod,fchmodat",
                          "-F", f"ppid={me}"],
                         ["-a", "always,exit", "-F", "arch=b64", "-S", "openat", "-F", "dir=/etc/audit",
                          "-F", f"ppid={me}"],
                         ["-w", str(files / "watched"), "-p", "wa", "-k", "detect-dummy"]):
                subprocess.run([auditctl, *rule], check=True, capture_output=True)
            _run("wget", f"--post-file={target}", "--tries=1", "--timeout=2", "http://127.0.0.1:9/")
            _run("grep", "password", str(target))
            _run("chmod", "644", str(target))
            _run("chmod", "u+s", str(target))
            _run("whoami")
            _run("uname", "-a")
            _run(sys.executable, "-c", "import ctypes; ctypes.CDLL(None).sysinfo(ctypes.create_string_buffer(256))")
            _run("split", "-b", "4", str(target), str(files / "part-"))
            _run("zip", "-q", str(files / "f.zip"), str(target))
            _run("tar", "-cf", str(files / "f.tar"), str(target))
            _run("chattr", "-i", str(target))
            _run("touch", str(files / ".hidden"))
            _run("touch", "-t", "202001010000", str(target))
            _run("cat", "/etc/audit/auditd.conf")
            _run(auditctl, "-W", str(files / "watched"), "-p", "wa", "-k", "detect-dummy")
            lab.add_user(user, password)
            ssh = lab.sshd([user], port=free_port())
            with ThreadPoolExecutor(5) as pool:  # failures in parallel: PAM delays each one
                list(pool.map(lambda _: ssh.ssh(user, "not-the-password", "true"), range(5)))
            ssh.ssh(user, password, "true")
            daemon.settle()
        yield daemon.log_file  # the lab has stopped auditd: DAEMON_END is in the log
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def sigma_rules(corpora: Path) -> object:
    return load_rules([corpora / "sigma"])


def test_claimed_rules_fire_on_the_real_actions(log: Path, sigma_rules: object) -> None:
    result = run_detections([log], sigma_rules)  # type: ignore[arg-type]
    fired = Counter(result.matches["rule_file"].to_pylist())
    print(f"\n{result.summary()}")
    for rule, action in {**CLAIMED, **BUILTIN}.items():
        print(f"  {fired.get(rule, 0):3d}  {rule}  ({action})")
    missing = [r for r in (*CLAIMED, *BUILTIN) if not fired.get(r)]
    assert not missing, f"did not fire: {missing}"
    brute = result.matches.filter(pa.compute.equal(result.matches["rule_file"],
                                                    "builtin/auditd_ssh_brute_force.yml"))
    row = brute.to_pylist()[0]
    assert ("addr", "127.0.0.1") in row["matched"] and len(row["lines"]) >= 2


def test_claimed_rules_on_the_benign_sample_logs(sigma_rules: object) -> None:
    """False positives: hits of the claimed rules on sample_logs/ other than those the sample
    script's own actions explain."""
    result = run_detections(["sample_logs"], sigma_rules)  # type: ignore[arg-type]
    fired = Counter(f for f in result.matches["rule_file"].to_pylist() if f in CLAIMED)
    false_positives = {r: n for r, n in fired.items() if r not in SAMPLE_LOGS_DID}
    print(f"\nclaimed rules on sample_logs: {dict(fired)}; false positives: {false_positives}")
    assert false_positives == {}
