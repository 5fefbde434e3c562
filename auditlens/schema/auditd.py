"""The auditd tables: events (one row per assembled event) and records (one row per line).

Who-did-what columns use the vocabulary of audit-userspace's normaliser (``auparse_normalize``,
the columns of ``ausearch --format csv``), so that results can be compared with the reference tool.
"""

from __future__ import annotations

import pyarrow as pa

from ._column import TIME, Column, TableSchema

_str = pa.string()
_i64 = pa.int64()
_i32 = pa.int32()

PATH_ITEM = pa.struct(
    [
        pa.field("item", _i32),
        pa.field("name", _str),
        pa.field("nametype", _str),
        pa.field("inode", _i64),
        pa.field("dev", _str),
        pa.field("mode", _str),
        pa.field("ouid", _i64),
        pa.field("ogid", _i64),
        pa.field("obj", _str),
    ]
)
"""One PATH record of an event (interpreted: name decoded from hex, mode in octal)."""

_PROVENANCE = (
    Column("file", _str, "Input file of the event's first record.", "provenance"),
    Column("line", _i64, "Line number of the event's first record in that file.", "provenance"),
    Column("record_types", pa.list_(_str), "Types of the event's records, in input order.", "provenance"),
    Column("record_count", _i32, "Number of records (input lines) assembled into the event.", "provenance"),
)

AUDITD_EVENTS = TableSchema(
    "auditd_events",
    "One row per auditd event: records assembled by (node, serial, timestamp), interpreted "
    "as `ausearch -i` does, and normalised into who/what/outcome as `ausearch --format csv` does.",
    (
        Column("node", _str, "Node name from the `node=` prefix; null when the log has none.", "node="),
        Column("serial", _i64, "Event serial number (unique per node and boot).", "msg=audit(…:SERIAL)"),
        Column("time", TIME, "Event time in UTC (millisecond precision in the log).", "msg=audit(TIME:…)"),
        Column("event_type", _str, "Record type that names the event (e.g. SYSCALL, USER_LOGIN).", "first record type"),
        Column("event_kind", _str, "Normaliser event kind (e.g. audit-rule, user-login, mac-decision).", "auparse_normalize"),
        Column("session", _i64, "Login session id (`ses`); null when unset (4294967295).", "ses"),
        Column("subject_primary", _str, "Who: the accountable user name (usually the login uid).", "auparse_normalize"),
        Column("subject_secondary", _str, "Who else: the effective or acting user name.", "auparse_normalize"),
        Column("subject_kind", _str, "What kind of subject: e.g. privileged, service, user.", "auparse_normalize"),
        Column("action", _str, "What was done, as a verb (e.g. opened-file, changed-login-id-to).", "auparse_normalize"),
        Column("result", _str, "success or failed.", "success= / res="),
        Column("object_primary", _str, "On what: file, account, address or program acted upon.", "auparse_normalize"),
        Column("object_secondary", _str, "Further object detail (e.g. the second path, the port).", "auparse_normalize"),
        Column("object_kind", _str, "What kind of object: file, user-session, socket, process…", "auparse_normalize"),
        Column("how", _str, "The means: usually the executable that did it.", "auparse_normalize"),
        Column("key", _str, "Audit rule key(s) (`-k`), comma separated; null when none.", "key"),
        Column("auid", _i64, "Login (audit) uid; null when unset.", "auid"),
        Column("auid_name", _str, "User name of auid (ENRICHED AUID or the node's passwd).", "AUID / passwd"),
        Column("uid", _i64, "Real uid.", "uid"),
        Column("uid_name", _str, "User name of uid.", "UID / passwd"),
        Column("euid", _i64, "Effective uid.", "euid"),
        Column("euid_name", _str, "User name of euid.", "EUID / passwd"),
        Column("suid", _i64, "Saved uid.", "suid"),
        Column("fsuid", _i64, "Filesystem uid.", "fsuid"),
        Column("gid", _i64, "Real gid.", "gid"),
        Column("gid_name", _str, "Group name of gid.", "GID / group"),
        Column("egid", _i64, "Effective gid.", "egid"),
        Column("pid", _i64, "Process id.", "pid"),
        Column("ppid", _i64, "Parent process id.", "ppid"),
        Column("exe", _str, "Executable path.", "exe"),
        Column("comm", _str, "Command name (kernel's 16-byte comm).", "comm"),
        Column("tty", _str, "Controlling tty; null for none.", "tty"),
        Column("terminal", _str, "PAM terminal (e.g. ssh, /dev/pts/0).", "terminal"),
        Column("addr", _str, "Remote address of a user-space (PAM, sshd) record.", "addr"),
        Column("hostname", _str, "Remote host name of a user-space record.", "hostname"),
        Column("syscall", _str, "System call name, per the event's arch.", "SYSCALL syscall + arch"),
        Column("syscall_nr", _i32, "System call number as logged.", "SYSCALL syscall"),
        Column("arch", _str, "Architecture name (x86_64, i386, aarch64, …).", "SYSCALL arch"),
        Column("success", pa.bool_(), "Whether the system call succeeded.", "SYSCALL success"),
        Column("exit", _i64, "System call return value.", "SYSCALL exit"),
        Column("errno", _str, "Errno name when exit is negative (e.g. EACCES).", "SYSCALL exit"),
        Column("cwd", _str, "Working directory.", "CWD cwd"),
        Column("paths", pa.list_(PATH_ITEM), "PATH records, in item order.", "PATH"),
        Column("argv", pa.list_(_str), "Program arguments of an execve (joined split arguments).", "EXECVE"),
        Column("proctitle", _str, "Process title with NULs shown as spaces.", "PROCTITLE"),
        Column("op", _str, "Operation of a user-space record (e.g. PAM:authentication).", "op"),
        Column("acct", _str, "Account a user-space record is about.", "acct"),
        Column("cmd", _str, "Command line of a sudo USER_CMD record.", "USER_CMD cmd"),
        Column("unit", _str, "systemd unit of SERVICE_START/STOP.", "unit"),
        Column("res", _str, "Result as logged by user space (success/failed).", "res"),
        Column("subj", _str, "SELinux/AppArmor subject label of the process.", "subj"),
        Column("avc_result", _str, "AVC decision: denied, granted (SELinux) or the AppArmor verdict.", "AVC"),
        Column("avc_permissions", pa.list_(_str), "Permissions of an AVC, e.g. [read, write].", "AVC { … }"),
        Column("scontext", _str, "SELinux source context.", "AVC scontext"),
        Column("tcontext", _str, "SELinux target context.", "AVC tcontext"),
        Column("tclass", _str, "SELinux target class.", "AVC tclass"),
        Column("permissive", pa.bool_(), "Whether the SELinux domain was permissive.", "AVC permissive"),
        Column("apparmor_profile", _str, "AppArmor profile of an AppArmor AVC.", "AVC profile"),
        Column("saddr_family", _str, "Socket address family (inet, inet6, unix, netlink).", "SOCKADDR saddr"),
        Column("saddr_address", _str, "Decoded socket address (IP or path).", "SOCKADDR saddr"),
        Column("saddr_port", _i32, "Decoded port (inet, inet6).", "SOCKADDR saddr"),
        *_PROVENANCE,
        Column("access", pa.list_(_str), "What the system call asks to do to its file: read, write, "
               "create, truncate, attr (mode, owner, xattrs), exec; from the syscall and its open "
               "flags; null when unknown or not a file syscall.", "SYSCALL syscall + a1/a2, OPENAT2 oflag"),
    ),
    optional=(
        Column("ancestry", pa.list_(_str), "Executables of the process's ancestors, nearest first "
               "(parent, grandparent…), as far as the log shows them; `…` marks where it stops "
               "showing them (the process tree began before the log) or an ancestor whose "
               "executable it does not show. Only with `read_auditd(..., ancestry=True)`; see "
               "`auditlens.auditd.ancestry`.", "SYSCALL pid, ppid, exe, ses over the whole read"),
    ),
)

AUDITD_RECORDS = TableSchema(
    "auditd_records",
    "One row per auditd record (input line), with every field kept as logged.",
    (
        Column("node", _str, "Node name from the `node=` prefix; null when the log has none.", "node="),
        Column("serial", _i64, "Event serial number.", "msg=audit(…:SERIAL)"),
        Column("time", TIME, "Event time in UTC.", "msg=audit(TIME:…)"),
        Column("record_type", _str, "Record type, e.g. SYSCALL or UNKNOWN[1334].", "type="),
        Column("fields", pa.map_(_str, _str), "Every field as logged (quotes removed, hex kept).", "key=value"),
        Column("enriched", pa.map_(_str, _str), "ENRICHED translations after the \\x1d separator.", "KEY=value"),
        Column("file", _str, "Input file.", "provenance"),
        Column("line", _i64, "Line number in that file.", "provenance"),
    ),
)
