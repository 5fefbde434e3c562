"""A small lab for producing real auditd logs on this machine, then putting everything back.

Used by ``scripts/make_sample_logs.sh`` (the committed sample logs) and by the end-to-end test
(``tests/system_helpers.py``). Standard library only, because it runs before and outside the
package. Everything it changes is undone by :class:`Lab` (an ``ExitStack``) even on failure:
the private auditd and sshd are stopped, audit rules deleted, the kernel's audit "enabled"
flag restored, test users, groups, sudoers drop-ins, nft tables and iptables chains removed.

Needs root, a working kernel audit subsystem and Debian's ``auditd``; ``openssh-server``,
``sudo``, ``nftables`` and ``iptables`` for the parts that drive them. No systemd: the daemons
are started directly with their own configuration files in a work directory.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pty
import pwd
import select
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

AUDITCTL = "auditctl"
SSH_PORT = 2222
SECRET_NAME = "payroll.csv"
SYSTEM_ACCOUNTS = ("root", "daemon", "nobody", "sshd", "sudo", "shadow", "nogroup", "_ssh")


class LabError(RuntimeError):
    """The lab cannot run here (not root, audit unavailable, a system auditd is running…)."""


def run(args: Sequence[str], *, check: bool = True, input: str | None = None,
        timeout: float = 60, cwd: str = "/") -> subprocess.CompletedProcess[str]:
    """Run a command from ``/`` (so no machine path leaks into CWD records)."""
    return subprocess.run(list(args), input=input, text=True, capture_output=True,
                          check=check, timeout=timeout, cwd=cwd)


# --------------------------------------------------------------------------- kernel audit state

def audit_status() -> dict[str, str]:
    """``auditctl -s`` as a dict (enabled, pid, lost…)."""
    out = run([AUDITCTL, "-s"]).stdout
    status: dict[str, str] = {}
    for line in out.splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2:
            status[parts[0]] = parts[1].split()[0]
    return status


def free_port() -> int:
    """A TCP port free on loopback right now (for a private sshd)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def why_not_available() -> str | None:
    """A reason the lab cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("auditctl", "auditd", "ausearch"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists() and not Path(f"/sbin/{tool}").exists():
            return f"{tool} not installed (Debian package auditd)"
    try:
        status = audit_status()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"kernel audit not usable: {exc}"
    if status.get("enabled") == "2":
        return "kernel audit configuration is locked (enabled 2)"
    if status.get("pid", "0") != "0":
        return f"an audit daemon is already running (pid {status['pid']}); not touching it"
    if run([AUDITCTL, "-l"], check=False).stdout.strip() not in ("No rules", ""):
        return "audit rules are already loaded on this machine; not touching them"
    return None


# --------------------------------------------------------------------------- rules

def rules(log_dir: str) -> list[list[str]]:
    """CIS/STIG-style rules with conventional ``-k`` keys, kept focused so logs stay small."""
    user = ["-F", "auid>=1000", "-F", "auid!=unset"]
    rules_: list[list[str]] = [
        ["-b", "8192"],
        # identity: account databases
        ["-w", "/etc/passwd", "-p", "wa", "-k", "identity"],
        ["-w", "/etc/group", "-p", "wa", "-k", "identity"],
        ["-w", "/etc/shadow", "-p", "wa", "-k", "identity"],
        ["-w", "/etc/gshadow", "-p", "wa", "-k", "identity"],
        ["-w", "/etc/security/opasswd", "-p", "wa", "-k", "identity"],
        # scope: who may act as whom
        ["-w", "/etc/sudoers", "-p", "wa", "-k", "scope"],
        ["-w", "/etc/sudoers.d", "-p", "wa", "-k", "scope"],
        # logins: ssh daemon configuration
        ["-w", "/etc/ssh/sshd_config", "-p", "wa", "-k", "sshd"],
        # audit trail: its own configuration and logs
        ["-w", "/etc/audit", "-p", "wa", "-k", "audit-config"],
        ["-w", log_dir, "-p", "rwa", "-k", "audit-log-access"],
        ["-w", "/usr/sbin/auditctl", "-p", "x", "-k", "audit-tools"],
        # time-change
        ["-a", "always,exit", "-F", "arch=b64", "-S", "adjtimex,settimeofday,clock_settime", "-k", "time-change"],
        # access: failed opens by users
        ["-a", "always,exit", "-F", "arch=b64", "-S", "open,openat,creat,truncate,ftruncate",
         "-F", "exit=-EACCES", *user, "-k", "access"],
        ["-a", "always,exit", "-F", "arch=b64", "-S", "open,openat,creat,truncate,ftruncate",
         "-F", "exit=-EPERM", *user, "-k", "access"],
        # perm_mod: permission and ownership changes by users
        ["-a", "always,exit", "-F", "arch=b64", "-S", "chmod,fchmod,fchmodat,chown,fchown,fchownat,lchown",
         *user, "-k", "perm_mod"],
        # delete: unlink/rename by users
        ["-a", "always,exit", "-F", "arch=b64", "-S", "unlink,unlinkat,rename,renameat", *user, "-k", "delete"],
        # modules
        ["-a", "always,exit", "-F", "arch=b64", "-S", "init_module,finit_module,delete_module", "-k", "module-load"],
        # user_emulation / privileged execution: a user running something as root
        ["-a", "always,exit", "-F", "arch=b64", "-S", "execve", "-C", "uid!=euid", "-F", "euid=0", "-k", "user_emulation"],
        # exec: every program users run (auid set)
        ["-a", "always,exit", "-F", "arch=b64", "-S", "execve", *user, "-k", "exec"],
    ]
    return rules_


def load_rules(log_dir: str) -> None:
    for r in rules(log_dir):
        run([AUDITCTL, *r])


# --------------------------------------------------------------------------- auditd

AUDITD_CONF = """\
# auditlens lab: a private auditd writing into a work directory.
local_events = yes
write_logs = yes
log_file = {log_file}
log_group = root
log_format = {fmt}
flush = INCREMENTAL_ASYNC
freq = 20
max_log_file = 8
num_logs = 9
priority_boost = 0
name_format = USER
name = {node}
max_log_file_action = ROTATE
space_left = 2
space_left_action = IGNORE
verify_email = no
action_mail_acct = root
admin_space_left = 1
admin_space_left_action = IGNORE
disk_full_action = IGNORE
disk_error_action = IGNORE
use_libwrap = no
tcp_listen_queue = 5
tcp_max_per_addr = 1
tcp_client_max_idle = 0
transport = TCP
distribute_network = no
q_depth = 2000
overflow_action = SYSLOG
max_restarts = 10
plugin_dir = {plugin_dir}
end_of_event_timeout = 2
"""


@dataclass
class AuditDaemon:
    """A private auditd (``auditd -c DIR -n``) logging to ``log_dir/audit.log``."""

    work: Path
    node: str
    fmt: str = "RAW"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log_dir(self) -> Path:
        return self.work / "log"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "audit.log"

    def start(self) -> None:
        conf = self.work / "etc"
        plugins = conf / "plugins.d"
        plugins.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.log_dir, 0o700)
        (conf / "auditd.conf").write_text(AUDITD_CONF.format(
            log_file=self.log_file, fmt=self.fmt, node=self.node, plugin_dir=plugins))
        os.chmod(conf / "auditd.conf", 0o640)
        self.proc = subprocess.Popen(["auditd", "-c", str(conf), "-n", "-s", "enable"], cwd="/",
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        (self.work / "auditd.pid").write_text(f"{self.proc.pid}\n")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise LabError(f"auditd exited at start ({self.proc.returncode}): {err.strip()}")
            started = self.log_file.exists() and b"DAEMON_START" in self.log_file.read_bytes()
            if started and audit_status().get("pid") == str(self.proc.pid):
                return
            time.sleep(0.1)
        raise LabError("auditd did not start within 15 s")

    def rotate(self) -> None:
        """Ask auditd to rotate now (SIGUSR1), as ``service auditd rotate`` does."""
        assert self.proc is not None
        before = self.log_file.stat().st_ino
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.log_file.exists() and self.log_file.stat().st_ino != before:
                return
            time.sleep(0.05)
        raise LabError("auditd did not rotate")

    def settle(self, seconds: float = 0.5) -> None:
        """Let queued kernel records reach the log (auditd flushes incrementally)."""
        time.sleep(seconds)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        (self.work / "auditd.pid").unlink(missing_ok=True)


# --------------------------------------------------------------------------- sshd + ssh client

SSHD_CONFIG = """\
# auditlens lab: a private sshd on loopback only.
Port {port}
ListenAddress 127.0.0.1
ListenAddress ::1
HostKey {host_key}
PidFile {pid_file}
UsePAM yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
PermitRootLogin no
UseDNS no
PrintMotd no
MaxAuthTries 6
LoginGraceTime 20
AllowUsers {allow}
"""

ASKPASS = "#!/bin/sh\nprintf '%s\\n' \"$AUDITLAB_PASSWORD\"\n"


@dataclass
class SshServer:
    """A private ``sshd -D`` on 127.0.0.1/::1 with its own host key and config (UsePAM yes)."""

    work: Path
    users: Sequence[str]
    port: int = SSH_PORT
    proc: subprocess.Popen[bytes] | None = None
    made_privsep_dir: bool = False

    def start(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        key = self.work / "ssh_host_ed25519_key"
        if not key.exists():
            run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "auditlab", "-f", str(key)])
        cfg = self.work / "sshd_config"
        # AllowUsers keeps the daemon to our test users; unknown names still reach PAM as
        # "invalid user" attempts, which is what we want to record.
        cfg.write_text(SSHD_CONFIG.format(port=self.port, host_key=key, pid_file=self.work / "sshd.pid",
                                          allow=" ".join(self.users)))
        if not Path("/run/sshd").exists():
            os.makedirs("/run/sshd", mode=0o755)
            self.made_privsep_dir = True
        (self.work / "askpass").write_text(ASKPASS)
        os.chmod(self.work / "askpass", 0o755)
        run(["/usr/sbin/sshd", "-t", "-f", str(cfg)])
        with open(self.work / "sshd.log", "wb") as log:
            self.proc = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(cfg)], cwd="/",
                                         stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            if self.proc.poll() is not None:
                raise LabError(f"sshd exited: {(self.work / 'sshd.log').read_text()}")
            time.sleep(0.1)
        raise LabError("sshd did not listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self.made_privsep_dir:
            shutil.rmtree("/run/sshd", ignore_errors=True)
            self.made_privsep_dir = False

    def _client(self, user: str, password: str, command: str, host: str, bind: str | None,
                tty: bool) -> tuple[list[str], dict[str, str]]:
        args = ["ssh", "-p", str(self.port), "-F", "/dev/null",
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no",
                "-o", "NumberOfPasswordPrompts=1", "-o", "LogLevel=ERROR",
                "-o", "ConnectTimeout=10"]
        if bind:
            args += ["-b", bind]
        args += ["-tt"] if tty else ["-T"]
        args += [f"{user}@{host}", command]
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "AUDITLAB_PASSWORD": password,
               "SSH_ASKPASS": str(self.work / "askpass"), "SSH_ASKPASS_REQUIRE": "force",
               "DISPLAY": ":0", "HOME": str(self.work), "LANG": "C.UTF-8", "TERM": "dumb"}
        return args, env

    def ssh(self, user: str, password: str, command: str, *, host: str = "127.0.0.1",
            bind: str | None = None, stdin: str | None = None,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """One password login running ``command`` (SSH_ASKPASS: no sshpass needed)."""
        args, env = self._client(user, password, command, host, bind, tty=False)
        return subprocess.run(args, check=False, input=stdin, text=True, capture_output=True, env=env,
                              timeout=timeout, cwd="/", start_new_session=True)

    def ssh_tty(self, user: str, password: str, command: str, answers: Sequence[str], *,
                host: str = "127.0.0.1", bind: str | None = None, timeout: float = 30) -> tuple[int, str]:
        """A login with a terminal (``ssh -tt``), typing ``answers`` at the remote prompts (su)."""
        args, env = self._client(user, password, command, host, bind, tty=True)
        return pty_run(args, answers, env=env, timeout=timeout)


# --------------------------------------------------------------------------- local actions

def pty_run(argv: Sequence[str], answers: Sequence[str], *, env: dict[str, str] | None = None,
            user: str | None = None, timeout: float = 30) -> tuple[int, str]:
    """Run ``argv`` on a fresh pty (optionally as ``user``), answering prompts that end in ':'.

    Password prompts (su, sudo without -S) read from the terminal and flush pending input
    first, so answers are only typed once the prompt has appeared.
    """
    pw = pwd.getpwnam(user) if user else None
    environ = env or {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.chdir("/")
            if pw is not None:
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)
                environ = {**environ, "HOME": pw.pw_dir, "USER": pw.pw_name}
            os.execvpe(argv[0], list(argv), environ)
        finally:
            os._exit(127)
    out = b""
    pending = list(answers)
    seen = 0  # output before this offset has been answered already
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if pending and out[seen:].rstrip().endswith(b":"):
                time.sleep(0.2)
                os.write(fd, pending.pop(0).encode() + b"\n")
                seen = len(out)
    finally:
        os.close(fd)
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


# --------------------------------------------------------------------------- the lab

@dataclass
class Lab:
    """Owns every change made to the machine and undoes it (LIFO) on close."""

    work: Path
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    users: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    accounts: dict[str, list[str]] = field(default_factory=lambda: {"passwd": [], "group": []})
    _baseline: dict[str, set[str]] = field(default_factory=dict)

    def __enter__(self) -> Lab:  # noqa: PYI034
        reason = why_not_available()
        if reason:
            raise LabError(reason)
        before = audit_status()
        # Registered first so it runs last: rules gone, enabled flag and backlog as we found them.
        self.stack.callback(self._restore_audit, before)
        self.work.mkdir(parents=True, exist_ok=True)
        os.chmod(self.work, 0o755)
        self._baseline = {db: _names(f"/etc/{db}") for db in ("passwd", "group")}
        return self

    def snapshot(self, system: Sequence[str] = SYSTEM_ACCOUNTS) -> None:
        """Remember the passwd/group lines of accounts made during the lab (plus a few system
        ones), for the node's own ``etc/passwd`` and ``etc/group`` copies."""
        for db in ("passwd", "group"):
            have = {line.split(":", 1)[0] for line in self.accounts[db]}
            for line in Path(f"/etc/{db}").read_text().splitlines():
                name = line.split(":", 1)[0]
                if name in have:
                    continue
                if name in system or name not in self._baseline[db]:
                    self.accounts[db].append(line)
                    have.add(name)

    def __exit__(self, *exc: object) -> None:
        self.stack.close()

    @staticmethod
    def _restore_audit(before: dict[str, str]) -> None:
        run([AUDITCTL, "-D"], check=False)
        for flag, name in (("-b", "backlog_limit"), ("-f", "failure"), ("-r", "rate_limit")):
            if name in before:
                run([AUDITCTL, flag, before[name]], check=False)
        run([AUDITCTL, "-e", before.get("enabled", "0")], check=False)

    # daemons
    def auditd(self, node: str, fmt: str, sub: str) -> AuditDaemon:
        daemon = AuditDaemon(self.work / sub, node, fmt)
        self.stack.callback(daemon.stop)
        daemon.start()
        return daemon

    def sshd(self, users: Sequence[str], port: int = SSH_PORT) -> SshServer:
        server = SshServer(self.work / "sshd", users, port)
        self.stack.callback(server.stop)
        server.start()
        return server

    # accounts
    def add_group(self, name: str) -> None:
        if _exists(grp.getgrnam, name):
            raise LabError(f"group {name} already exists on this machine; refusing to touch it")
        self.stack.callback(self._drop_group, name)
        run(["groupadd", name])
        self.groups.append(name)

    def add_user(self, name: str, password: str, *extra: str) -> None:
        if _exists(pwd.getpwnam, name):
            raise LabError(f"user {name} already exists on this machine; refusing to touch it")
        self.stack.callback(self._drop_user, name)
        run(["useradd", "-m", "-s", "/bin/bash", *extra, name])
        run(["chpasswd"], input=f"{name}:{password}\n")
        self.users.append(name)

    def watch_user(self, name: str) -> None:
        """Make sure a user created by someone else in the scenario is removed at the end."""
        self.stack.callback(self._drop_user, name)

    def del_user(self, name: str) -> None:
        run(["userdel", "-r", name], check=False)

    def del_group(self, name: str) -> None:
        run(["groupdel", name], check=False)

    @staticmethod
    def _drop_user(name: str) -> None:
        if _exists(pwd.getpwnam, name):
            subprocess.run(["pkill", "-KILL", "-u", name], check=False)
            run(["userdel", "-r", "-f", name], check=False)

    @staticmethod
    def _drop_group(name: str) -> None:
        if _exists(grp.getgrnam, name):
            run(["groupdel", name], check=False)

    # files
    def sudoers(self, name: str, text: str) -> Path:
        """A sudoers drop-in, written and removed by ordinary tools (install, rm) so the audit
        records name those programs rather than this Python interpreter."""
        path = Path("/etc/sudoers.d") / name
        if path.exists():
            raise LabError(f"{path} already exists; refusing to touch it")
        self.stack.callback(lambda: run(["rm", "-f", str(path)], check=False))
        tmp = self.work / f"sudoers-{name}"
        tmp.write_text(text)
        run(["visudo", "-cf", str(tmp)])
        run(["install", "-m", "0440", "-o", "root", "-g", "root", str(tmp), str(path)])
        return path

    def secret_file(self, sub: str = "data") -> Path:
        folder = self.work / sub
        folder.mkdir(exist_ok=True)
        os.chmod(folder, 0o755)
        path = folder / SECRET_NAME
        path.write_text("name,salary\n")
        os.chmod(path, 0o600)
        return path

    # netfilter leftovers, in case a scenario fails half way
    def forget_netfilter(self, nft_table: str, ipt_chain: str) -> None:
        """Undo the scenario's netfilter changes if it stopped half way; iptables-nft also
        creates the ``ip filter`` table on first use, so drop that too unless it was there."""
        had_filter = run(["nft", "list", "table", "ip", "filter"], check=False).returncode == 0

        def undo() -> None:
            run(["nft", "delete", "table", "inet", nft_table], check=False)
            run(["iptables", "-F", ipt_chain], check=False)
            run(["iptables", "-X", ipt_chain], check=False)
            if not had_filter:
                run(["nft", "delete", "table", "ip", "filter"], check=False)
        self.stack.callback(undo)


def _exists(lookup: object, name: str) -> bool:
    try:
        lookup(name)  # type: ignore[operator]
    except KeyError:
        return False
    return True


def _names(path: str) -> set[str]:
    return {line.split(":", 1)[0] for line in Path(path).read_text().splitlines() if line}


@contextlib.contextmanager
def lab(work: Path) -> Iterator[Lab]:
    with Lab(work) as lab_:
        yield lab_
