"""The auditd lexer: one table of line → expected header and fields, one of line → reject reason.

Lines are written here after the formats documented by the kernel (``audit_log_format`` output),
audit-userspace (auparse's field splitting in ``auparse/ellist.c``) and the syslog forwarders;
expected values are read off the line itself (the lexer interprets nothing).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditlens.auditd.lexer import LexError, parse_line

GS = "\x1d"

# (id, line, (node, type, sec, msec, serial), expected fields subset, expected enriched subset)
CASES = [
    (
        "raw-syscall",
        ('type=SYSCALL msg=audit(1700000000.123:42): arch=c000003e syscall=257 success=no exit=-13 '
        'a0=ffffff9c items=1 ppid=1 pid=200 auid=1000 uid=1000 tty=pts0 ses=3 comm="cat" '
        'exe="/usr/bin/cat" key="secrets"'),
        (None, "SYSCALL", 1700000000, 123, 42),
        {"arch": "c000003e", "syscall": "257", "success": "no", "exit": "-13", "comm": '"cat"',
         "exe": '"/usr/bin/cat"', "key": '"secrets"', "tty": "pts0"},
        {},
    ),
    (
        "enriched-syscall",
        (f'type=SYSCALL msg=audit(1700000000.001:7): arch=c000003e syscall=2 auid=1000 uid=0 '
        f'comm="vi" key=(null){GS}ARCH=x86_64 SYSCALL=open AUID="alice" UID="root"'),
        (None, "SYSCALL", 1700000000, 1, 7),
        {"arch": "c000003e", "syscall": "2", "auid": "1000", "key": "(null)"},
        {"ARCH": "x86_64", "SYSCALL": "open", "AUID": '"alice"', "UID": '"root"'},
    ),
    (
        "enriched-brace-value",
        (f"type=SOCKADDR msg=audit(1700000000.001:8): saddr=0200005000000000{GS}"
        "SADDR={ fam=inet laddr=0.0.0.0 lport=80 }"),
        (None, "SOCKADDR", 1700000000, 1, 8),
        {"saddr": "0200005000000000"},
        {"SADDR": "{ fam=inet laddr=0.0.0.0 lport=80 }"},
    ),
    (
        "rsyslog-escaped-separator",
        ('type=USER_START msg=audit(1700000000.001:9): pid=5 uid=0 auid=1000 ses=2 '
        "msg='op=PAM:session_open acct=\"bob\" exe=\"/usr/sbin/sshd\" res=success'#035UID=\"root\" AUID=\"bob\""),
        (None, "USER_START", 1700000000, 1, 9),
        {"op": "PAM:session_open", "acct": '"bob"', "res": "success"},
        {"UID": '"root"', "AUID": '"bob"'},
    ),
    (
        "node-prefix",
        "node=worker-1.example type=CWD msg=audit(1600000000.500:99): cwd=\"/root\"",
        ("worker-1.example", "CWD", 1600000000, 500, 99),
        {"cwd": '"/root"'},
        {},
    ),
    (
        "user-msg-flattened",
        ("type=USER_LOGIN msg=audit(1600000001.000:100): pid=31 uid=0 auid=4294967295 ses=4294967295 "
        "subj=system_u:system_r:sshd_t:s0 msg='op=login acct=\"root\" exe=\"/usr/sbin/sshd\" "
        "hostname=? addr=192.0.2.7 terminal=ssh res=failed'"),
        (None, "USER_LOGIN", 1600000001, 0, 100),
        {"pid": "31", "uid": "0", "auid": "4294967295", "ses": "4294967295",
         "subj": "system_u:system_r:sshd_t:s0", "op": "login", "acct": '"root"',
         "exe": '"/usr/sbin/sshd"', "hostname": "?", "addr": "192.0.2.7", "terminal": "ssh",
         "res": "failed"},
        {},
    ),
    (
        "rhel6-bare-user-word",
        ("type=USER_CMD msg=audit(1489519256.192:19600329): user pid=4151 uid=497 auid=700 ses=11988 "
        "msg='cwd=\"/\" cmd=2F7573722F62696E2F6964 terminal=? res=success'"),
        (None, "USER_CMD", 1489519256, 192, 19600329),
        {"pid": "4151", "uid": "497", "auid": "700", "cwd": '"/"', "cmd": "2F7573722F62696E2F6964",
         "res": "success"},
        {},
    ),
    (
        "syslog-audispd",
        ("<134>Oct 28 09:56:44 centos6 audispd: node=centos6 type=ADD_GROUP "
        "msg=audit(1446026204.056:543): user pid=1336 uid=0 auid=0 ses=3 "
        "msg='op=adding-group id=504 exe=\"/usr/sbin/groupadd\" hostname=? addr=? terminal=pts/0 res=success'"),
        ("centos6", "ADD_GROUP", 1446026204, 56, 543),
        {"pid": "1336", "op": "adding-group", "id": "504", "exe": '"/usr/sbin/groupadd"', "res": "success"},
        {},
    ),
    (
        "syslog-audispd-no-node",
        ("Jul 26 18:30:48 host1 audispd: type=SYSCALL msg=audit(1469547048.568:334): arch=c000003e "
        'syscall=2 success=yes exit=3 comm="bash" exe="/bin/bash" key="authkeys"'),
        (None, "SYSCALL", 1469547048, 568, 334),
        {"syscall": "2", "exit": "3", "key": '"authkeys"'},
        {},
    ),
    (
        "audisp-syslog",
        ("2024-02-01T10:00:00.000000+00:00 host2 audisp-syslog: node=host2 type=EXECVE "
        'msg=audit(1706781600.010:77): argc=2 a0="ls" a1="-l"'),
        ("host2", "EXECVE", 1706781600, 10, 77),
        {"argc": "2", "a0": '"ls"', "a1": '"-l"'},
        {},
    ),
    (
        "kernel-ring-numeric-type",
        ('[   12.345678] audit: type=1400 audit(1612345678.123:456): apparmor="DENIED" '
        'operation="open" profile="snap.x" name="/etc/shadow" pid=77 comm="x" requested_mask="r"'),
        (None, "AVC", 1612345678, 123, 456),  # 1400 is AUDIT_AVC in linux/audit.h
        {"apparmor": '"DENIED"', "operation": '"open"', "name": '"/etc/shadow"', "requested_mask": '"r"'},
        {},
    ),
    (
        "quoted-with-spaces-and-equals",
        ("type=USER_AVC msg=audit(1700000000.000:5): pid=1 uid=0 auid=4294967295 ses=4294967295 "
        "msg='avc:  denied  { status } for auid=1000 uid=0 gid=0 path=\"/lib/systemd/system/a b.service\" "
        "cmdline=\"/bin/systemctl status x=y\" scontext=u:r:t:s0 tcontext=u:r:init_t:s0 tclass=service "
        "exe=\"/usr/lib/systemd/systemd\" sauid=0 hostname=? addr=? terminal=?'"),
        (None, "USER_AVC", 1700000000, 0, 5),
        {"pid": "1", "seresult": "denied", "seperms": "status",
         "path": '"/lib/systemd/system/a b.service"', "cmdline": '"/bin/systemctl status x=y"',
         "tclass": "service", "terminal": "?"},
        {},
    ),
    (
        "hex-versus-quoted",
        ('type=PATH msg=audit(1700000000.000:6): item=0 name=2F746D702F6120622F63 inode=5 '
        'dev=fd:00 mode=0100644 ouid=0 ogid=0 nametype=NORMAL'),
        (None, "PATH", 1700000000, 0, 6),
        {"name": "2F746D702F6120622F63", "item": "0", "dev": "fd:00", "mode": "0100644"},
        {},
    ),
    (
        "proctitle-hex",
        "type=PROCTITLE msg=audit(1700000000.000:6): proctitle=2F62696E2F7368002D63",
        (None, "PROCTITLE", 1700000000, 0, 6),
        {"proctitle": "2F62696E2F7368002D63"},
        {},
    ),
    (
        "unknown-type",
        "type=UNKNOWN[1334] msg=audit(1522927552.749:917): op=remove-rule key=(null) list=4 res=1",
        (None, "UNKNOWN[1334]", 1522927552, 749, 917),
        {"op": "remove-rule", "key": "(null)", "list": "4", "res": "1"},
        {},
    ),
    (
        "selinux-avc",
        ('type=AVC msg=audit(1166111074.191:74): avc:  denied  { read write } for  pid=13944 '
        'comm="automount" name="auto.net" dev=dm-0 ino=16483485 scontext=system_u:system_r:automount_t:s0 '
        "tcontext=system_u:object_r:etc_t:s0 tclass=file permissive=0"),
        (None, "AVC", 1166111074, 191, 74),
        {"seresult": "denied", "seperms": "read,write", "pid": "13944", "comm": '"automount"',
         "tclass": "file", "permissive": "0"},
        {},
    ),
    (
        "avc-policyload-parenthesised",
        "type=MAC_POLICY_LOAD msg=audit(1700000000.000:3): avc:  received policyload notice (seqno=2)",
        (None, "MAC_POLICY_LOAD", 1700000000, 0, 3),
        {"seqno": "2"},
        {},
    ),
    (
        "old-user-avc-punctuation",
        ("type=USER_AVC msg=audit(1100000000.000:1): user pid=2 uid=81 loginuid=-1 "
        "msg='avc:  denied  { send_msg } for  scontext=a_t tcontext=b_t tclass=dbus : "
        "exe=\"/bin/dbus-daemon\" (sauid=81, hostname=?, addr=?, terminal=?)'"),
        (None, "USER_AVC", 1100000000, 0, 1),
        {"seresult": "denied", "seperms": "send_msg", "sauid": "81", "hostname": "?", "terminal": "?",
         "exe": '"/bin/dbus-daemon"', "tclass": "dbus"},
        {},
    ),
    (
        "duplicate-key-first-wins",
        ("type=LOGIN msg=audit(1337845201.174:94983): pid=25443 uid=0 old auid=4294967295 new auid=0 "
        "old ses=4294967295 new ses=1165"),
        (None, "LOGIN", 1337845201, 174, 94983),
        {"pid": "25443", "auid": "4294967295", "ses": "4294967295"},
        {},
    ),
    (
        "two-records-glued",
        ('node=bob type=PATH msg=audit(1166111074.191:74): item=0 name="/etc/auto.net" '
        'type=CWD msg=audit(1166111074.191:74):  cwd="/"'),
        ("bob", "PATH", 1166111074, 191, 74),
        {"item": "0", "name": '"/etc/auto.net"', "cwd": '"/"'},
        {},
    ),
    (
        "eoe-empty-body",
        "type=EOE msg=audit(1700000000.999:8): ",
        (None, "EOE", 1700000000, 999, 8),
        {},
        {},
    ),
    (
        "truncated-inside-quotes",
        "type=USER_AUTH msg=audit(1700000000.000:9): pid=1 uid=0 msg='op=PAM:authentication acct=\"ro",
        (None, "USER_AUTH", 1700000000, 0, 9),
        {"pid": "1", "op": "PAM:authentication", "acct": '"ro'},
        {},
    ),
    (
        "empty-value-and-a-bare-word",
        "type=CONFIG_CHANGE msg=audit(1700000000.000:10): auid=0 ses=1 op=add_rule key= list=4 res=1 oops",
        (None, "CONFIG_CHANGE", 1700000000, 0, 10),
        {"auid": "0", "key": "", "list": "4", "res": "1"},
        {},
    ),
]


@pytest.mark.parametrize(
    ("line", "header", "fields", "enriched"),
    [pytest.param(line, hdr, f, e, id=name) for name, line, hdr, f, e in CASES],
)
def test_lexer_table(line: str, header: tuple, fields: dict, enriched: dict) -> None:
    rec = parse_line(line.encode(), "audit.log", 7)
    assert (rec.node, rec.type, rec.sec, rec.msec, rec.serial) == header
    assert {k: rec.fields.get(k) for k in fields} == fields
    assert {k: rec.enriched.get(k) for k in enriched} == enriched
    assert (rec.file, rec.line) == ("audit.log", 7)
    if not enriched:
        assert rec.enriched == {}


def test_no_header_pieces_leak_into_fields() -> None:
    rec = parse_line(b"node=n type=SYSCALL msg=audit(1.001:2): pid=3", "f", 1)
    assert rec.fields == {"pid": "3"}


def test_outer_fields_come_before_flattened_msg_fields() -> None:
    """auparse's field cursor walks fields in this order; the normaliser depends on it."""
    rec = parse_line(b"type=USER_END msg=audit(1.001:2): pid=3 uid=0 msg='op=x res=success'", "f", 1)
    assert list(rec.fields) == ["pid", "uid", "op", "res"]


def test_non_utf8_bytes_are_escaped_not_lost() -> None:
    rec = parse_line(b'type=SYSCALL msg=audit(1.001:2): comm="\xff\xfeab" pid=1', "f", 1)
    assert rec.fields["comm"] == '"\\xff\\xfeab"'
    assert rec.fields["pid"] == "1"


def test_huge_line_is_lexed() -> None:
    value = "41" * 3_000_000  # a 6 MB hex argument, as an EXECVE of a huge command line gives
    rec = parse_line(f"type=EXECVE msg=audit(1.001:2): argc=1 a0={value} a1=x".encode(), "f", 1)
    assert rec.fields["a0"] == value
    assert rec.fields["a1"] == "x"


def test_huge_word_without_equals_is_linear() -> None:
    """A multi-megabyte word with no '=' must not make the key=value scan quadratic."""
    rec = parse_line(b"type=EXECVE msg=audit(1.001:2): " + b"x" * 5_000_000 + b" a=1", "f", 1)
    assert rec.fields == {"a": "1"}


REJECTS = [
    ("blank", b"", "blank line"),
    ("spaces", b"   \t ", "blank line"),
    ("comment", b"# captured with auditctl -a always,exit", "not an audit record: no type= field"),
    ("prose", b"hello world", "not an audit record: no type= field"),
    ("no-type", b"msg=audit(1337845201.174:94984): missing type", "not an audit record: no type= field"),
    ("no-millis", b"type=WRONGDATE msg=audit(1337845201): x=1", "malformed msg=audit(…) header"),
    ("empty-stamp", b"type=EMPTYDATE msg=audit(): x=1", "malformed msg=audit(…) header"),
    ("empty-type", b"type= msg=audit(1337845333.174:94984): x=1", "malformed msg=audit(…) header"),
    ("cut-header", b"type=SYSCALL msg=audit(17000", "malformed msg=audit(…) header"),
    ("nul-bytes", b"\x00\x00\x00\x01\x02type=", "line is not text (binary data)"),
    ("binary", bytes(range(256)), "line is not text (binary data)"),
]


@pytest.mark.parametrize(("raw", "reason"), [pytest.param(r, why, id=n) for n, r, why in REJECTS])
def test_rejected_lines(raw: bytes, reason: str) -> None:
    with pytest.raises(LexError) as info:
        parse_line(raw, "f", 1)
    assert info.value.reason == reason


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_lex_or_reject(raw: bytes) -> None:
    """Any line either lexes into a Record with str fields or raises LexError — nothing else."""
    raw = raw.replace(b"\n", b" ")
    try:
        rec = parse_line(raw, "f", 1)
    except LexError as exc:
        assert exc.reason
        return
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in rec.fields.items())
    rec_text = [*rec.fields, *rec.fields.values(), *rec.enriched, *rec.enriched.values(), rec.type]
    for text in rec_text:
        text.encode("utf-8")  # Arrow needs valid UTF-8: no surrogates may leak out


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_-]{0,8}", fullmatch=True),
        st.one_of(
            st.from_regex(r"[0-9A-F]{0,20}", fullmatch=True),
            st.from_regex(r'"[^"\n\x1d]{0,20}"', fullmatch=True),
        ),
        max_size=8,
    )
)
def test_written_fields_come_back(fields: dict[str, str]) -> None:
    """What auditd writes as key=value (hex or double-quoted, spaces allowed inside) reads back as is."""
    fields.pop("msg", None)
    body = " ".join(f"{k}={v}" for k, v in fields.items())
    rec = parse_line(f"type=SYSCALL msg=audit(1.001:2): {body}".encode(), "f", 1)
    assert rec.fields == fields
