"""Interpretation of logged auditd values: hex, proctitle, argv, sockaddr, AVC, errno, ids.

Expected values are worked out by hand from the bytes (or taken from ``ausearch -i`` / the
kernel's struct layouts), never copied from our own output.
"""

from __future__ import annotations

import io
from pathlib import Path

from auditlens.auditd import interpret as itp
from auditlens.auditd.ids import IdNames, parse_id
from auditlens.auditd.model import Record


def rec(rtype: str, fields: dict[str, str], enriched: dict[str, str] | None = None) -> Record:
    return Record(None, rtype, 1700000000, 100, 1, fields, enriched or {}, "t.log", 1)


# --- hex and quoting --------------------------------------------------------------------------

def test_hex_value_of_an_encodable_field_is_decoded() -> None:
    # "/tmp/a b.txt": 2F=/ 74=t 6D=m 70=p 2F=/ 61=a 20=space 62=b 2E=. 74=t 78=x 74=t
    assert itp.decode_value("2F746D702F6120622E747874", True) == "/tmp/a b.txt"


def test_quoted_value_is_literal_even_when_it_looks_like_hex() -> None:
    assert itp.decode_value('"CAFE"', True) == "CAFE"


def test_unquoted_value_of_a_plain_field_is_not_decoded() -> None:
    assert itp.decode_value("CAFE", False) == "CAFE"


def test_odd_length_or_non_hex_is_left_alone() -> None:
    assert itp.decode_value("ABC", True) == "ABC"
    assert itp.decode_value("xyz0", True) == "xyz0"


def test_null_spellings_become_none_when_cleaned() -> None:
    for v in ("(null)", "?", "(none)", ""):
        assert itp.clean(itp.decode_value(v, True)) is None


def test_undecodable_bytes_are_kept_visibly() -> None:
    assert itp.decode_value("41FF42", True) == "A\\xffB"


# --- PROCTITLE and EXECVE ----------------------------------------------------------------------

def test_proctitle_nuls_become_spaces() -> None:
    # "/bin/sh\0-c\0ls"
    assert itp.proctitle("2F62696E2F7368002D63006C73") == "/bin/sh -c ls"


def test_proctitle_plain_quoted() -> None:
    assert itp.proctitle('"sshd"') == "sshd"


def test_execve_simple_and_hex_arguments() -> None:
    r = rec("EXECVE", {"argc": "3", "a0": '"ls"', "a1": '"-l"', "a2": "2F746D702F6120622E747874"})
    assert itp.execve_argv([r]) == ["ls", "-l", "/tmp/a b.txt"]


def test_execve_split_argument_is_joined_in_order() -> None:
    # a1 = "hello world" split in two hex chunks: 68656C6C6F20 ("hello ") + 776F726C64 ("world")
    r = rec("EXECVE", {"argc": "2", "a0": '"echo"', "a1_len": "11", "a1[1]": "776F726C64", "a1[0]": "68656C6C6F20"})
    assert itp.execve_argv([r]) == ["echo", "hello world"]


def test_execve_arguments_spread_over_records() -> None:
    r1 = rec("EXECVE", {"argc": "4", "a0": '"a"', "a1": '"b"'})
    r2 = rec("EXECVE", {"a2": '"c"', "a3": '"d"'})
    assert itp.execve_argv([r1, r2]) == ["a", "b", "c", "d"]


def test_execve_lost_argument_is_none_and_argc_is_kept() -> None:
    r1 = rec("EXECVE", {"argc": "3", "a0": '"a"', "a2": '"c"'})
    assert itp.execve_argv([r1]) == ["a", None, "c"]


def test_execve_hostile_argc_or_index_is_capped() -> None:
    """argc=2147483648 or a99999999999=x made a list of billions (out of memory); the list stops
    at MAX_ARGV, the arguments logged below it kept."""
    r = rec("EXECVE", {"argc": "2147483648", "a0": '"a"'})
    argv = itp.execve_argv([r])
    assert argv is not None and len(argv) == itp.MAX_ARGV and argv[0] == "a" and argv[-1] is None
    far = itp.execve_argv([rec("EXECVE", {"a0": '"a"', "a99999999999": '"x"'})])
    assert far is not None and len(far) == itp.MAX_ARGV and far[0] == "a"


def test_execve_absent_is_none() -> None:
    assert itp.execve_argv([rec("SYSCALL", {})]) is None


# --- SOCKADDR ----------------------------------------------------------------------------------

def test_sockaddr_inet() -> None:
    sa = itp.decode_sockaddr("02000016C0A801020000000000000000")  # AF_INET=2 LE, port 0x0016, 192.168.1.2
    assert sa is not None
    assert (sa.family, sa.address, sa.port) == ("inet", "192.168.1.2", 22)
    assert sa.text == "{ fam=inet laddr=192.168.1.2 lport=22 }"


def test_sockaddr_inet6_loopback() -> None:
    # from laurel's record-connect.txt; ausearch -i shows laddr=::1 lport=11211
    sa = itp.decode_sockaddr("0A002BCB000000000000000000000000000000000000000100000000")
    assert sa is not None
    assert (sa.family, sa.address, sa.port) == ("inet6", "::1", 11211)


def test_sockaddr_inet6_v4_mapped_is_dotted() -> None:
    raw = "0A000050" + "00000000" + "00000000000000000000FFFF7F000001" + "00000000"
    sa = itp.decode_sockaddr(raw)
    assert sa is not None and sa.address == "::ffff:127.0.0.1" and sa.port == 80


def test_sockaddr_unix_path_stops_at_nul() -> None:
    sa = itp.decode_sockaddr("01002F746D702F78000000")  # /tmp/x
    assert sa is not None
    assert (sa.family, sa.address, sa.port) == ("unix", "/tmp/x", None)
    assert sa.text == "{ fam=local path=/tmp/x }"


def test_sockaddr_unix_abstract_gets_at_sign() -> None:
    sa = itp.decode_sockaddr("0100" + "00" + "616263")  # abstract "abc"
    assert sa is not None and sa.address == "@abc"


def test_sockaddr_netlink_pid() -> None:
    sa = itp.decode_sockaddr("10000000D204000000000000")  # AF_NETLINK=16, pad, nl_pid=1234 LE, groups 0
    assert sa is not None
    assert (sa.family, sa.address) == ("netlink", "1234")
    assert sa.text == "{ fam=netlink nlnk-fam=16 nlnk-pid=1234 }"


def test_sockaddr_big_endian_machine() -> None:
    # laurel record-bind-ipv4-bigendian.txt (arch=ppc64): family 0x0002 big endian, port 0xD903
    raw = "0002D903000000000000000000000000"
    assert itp.decode_sockaddr(raw).text == "unknown-family(512)"  # type: ignore[union-attr]
    sa = itp.decode_sockaddr(raw, big_endian=True)
    assert sa is not None and (sa.family, sa.address, sa.port) == ("inet", "0.0.0.0", 55555)


def test_sockaddr_too_short_and_garbage() -> None:
    assert itp.decode_sockaddr("0200").text == "{ fam=inet sockaddr len too short }"  # type: ignore[union-attr]
    assert itp.decode_sockaddr("zz").text.startswith("malformed")  # type: ignore[union-attr]


# --- AVC ---------------------------------------------------------------------------------------

def test_selinux_avc_from_auparse_style_fields() -> None:
    r = rec("AVC", {"seresult": "denied", "seperms": "read,write", "pid": "1", "comm": '"pickup"',
                    "scontext": "system_u:system_r:postfix_pickup_t:s0",
                    "tcontext": "system_u:object_r:postfix_spool_maildrop_t:s0", "tclass": "dir",
                    "permissive": "0"})
    avc = itp.parse_avc(r)
    assert avc is not None
    assert avc.result == "denied" and avc.permissions == ["read", "write"]
    assert avc.scontext == "system_u:system_r:postfix_pickup_t:s0"
    assert avc.tcontext == "system_u:object_r:postfix_spool_maildrop_t:s0"
    assert avc.tclass == "dir" and avc.permissive is False


def test_selinux_avc_from_free_text_in_fields() -> None:
    # a lexer that keeps the text "avc:  denied  { status } for" as a key without value
    r = rec("USER_AVC", {"pid": "1", "uid": "0", "avc:  denied  { start stop } for auid": "0",
                         "scontext": "a:b:c", "tcontext": "d:e:f", "tclass": "service", "permissive": "1"})
    avc = itp.parse_avc(r)
    assert avc is not None and avc.result == "denied" and avc.permissions == ["start", "stop"]
    assert avc.tclass == "service" and avc.permissive is True


def test_apparmor_avc() -> None:
    r = rec("AVC", {"apparmor": '"DENIED"', "operation": '"open"', "profile": '"/usr/sbin/cupsd"',
                    "name": '"/etc/shadow"', "pid": "1", "comm": '"cupsd"', "requested_mask": '"r"',
                    "denied_mask": '"r"', "fsuid": "0", "ouid": "0"})
    avc = itp.parse_avc(r)
    assert avc is not None
    assert avc.result == "denied" and avc.apparmor_profile == "/usr/sbin/cupsd" and avc.permissions == ["r"]
    assert avc.scontext is None


# --- SYSCALL, PATH -----------------------------------------------------------------------------

def test_errno_of_negative_exit() -> None:
    assert itp.errno_of(-13) == "EACCES"
    assert itp.errno_of(-2) == "ENOENT"
    assert itp.errno_of(0) is None and itp.errno_of(3) is None and itp.errno_of(None) is None


def test_path_items_sorted_and_interpreted() -> None:
    p1 = rec("PATH", {"item": "1", "name": "(null)", "inode": "5", "dev": "08:01", "mode": "0100644",
                      "ouid": "0", "ogid": "0", "nametype": "CREATE"})
    p0 = rec("PATH", {"item": "0", "name": "2F746D70", "inode": "2", "dev": "08:01", "mode": "040755",
                      "ouid": "4294967295", "ogid": "0", "nametype": "PARENT",
                      "obj": "system_u:object_r:tmp_t:s0"})
    items = itp.path_items([p1, p0])
    assert items is not None
    assert [i["item"] for i in items] == [0, 1]
    assert items[0]["name"] == "/tmp" and items[0]["ouid"] is None and items[0]["mode"] == "040755"
    assert items[0]["obj"] == "system_u:object_r:tmp_t:s0"
    assert items[1]["name"] is None and items[1]["inode"] == 5


# --- ids ---------------------------------------------------------------------------------------

def test_unset_ids() -> None:
    assert parse_id("4294967295") is None and parse_id("-1") is None and parse_id("0") == 0
    ids = IdNames()
    assert ids.user("4294967295") == "unset"
    assert ids.user("-1", "AUID_IGNORED") == "unset"


def test_name_from_enriched_field() -> None:
    ids = IdNames()
    assert ids.user("1000", '"alice"') == "alice"
    assert ids.user("573", '"unknown(573)"') is None  # auditd could not resolve it either


def test_no_name_without_enriched_or_passwd_never_the_local_machine() -> None:
    ids = IdNames()
    assert ids.user("0") is None  # not "root" from this machine's /etc/passwd
    assert ids.group("0") is None


def test_names_from_passwd_and_group_files(tmp_path: Path) -> None:
    pw = tmp_path / "passwd"
    pw.write_text("root:x:0:0:root:/root:/bin/bash\n# comment\nbroken line\nalice:x:1000:1000::/home/alice:/bin/sh\n")
    grp = io.StringIO("root:x:0:\nwheel:x:10:alice\n")
    ids = IdNames(passwd=pw, group=grp)
    assert ids.user("1000") == "alice" and ids.user("0") == "root" and ids.user("1001") is None
    assert ids.group("10") == "wheel"
    assert ids.uid_of("alice") == 1000
    assert ids.user("1000", '"bob"') == "bob"  # what the node said at the time wins


def test_per_node_passwd_files(tmp_path: Path) -> None:
    a = io.BytesIO(b"alice:x:1000:1000::/:/bin/sh\n")
    b = io.BytesIO(b"bob:x:1000:1000::/:/bin/sh\n")
    ids = IdNames(passwd={"node-a": a, "node-b": b})
    assert ids.user("1000", node="node-a") == "alice"
    assert ids.user("1000", node="node-b") == "bob"
    assert ids.user("1000", node="node-c") is None
