"""The detections tables: one row per rule match, and one row per rule loaded (compiled or not).

A match credits the rule's author and gives its file and references, as the Detection Rule
License under which SigmaHQ publishes its rules asks of a tool that shows matches to users.
Columns that mean what an ACTIVITY column means carry its name and type.
"""

from __future__ import annotations

import pyarrow as pa

from ._column import TIME, Column, TableSchema
from .activity import ACTIVITY

_str = pa.string()
_strs = pa.list_(_str)
_i64 = pa.int64()

DETECTIONS = TableSchema(
    "detections",
    "One row per rule match: per auditd event (the records of one serial that matched) or per "
    "Kubernetes request (one auditID, whatever stages were logged). Sorted by time.",
    (
        Column("time", TIME, "When: the auditd event's time or the Kubernetes request's last "
               "logged stage (UTC).", "msg=audit / stageTimestamp"),
        Column("rule_id", _str, "Rule id (a UUID for Sigma rules).", "rule id"),
        Column("rule_title", _str, "Rule title.", "rule title"),
        Column("rule_level", _str, "Severity the rule gives: informational, low, medium, high, "
               "critical.", "rule level"),
        Column("rule_status", _str, "Rule maturity: stable, test, experimental, deprecated, "
               "unsupported.", "rule status"),
        Column("rule_tags", _strs, "Rule tags, e.g. attack.t1562.012 (MITRE ATT&CK).", "rule tags"),
        Column("rule_author", _str, "Rule author, credited as the rule's license asks.", "rule author"),
        Column("rule_references", _strs, "Rule references (links).", "rule references"),
        Column("rule_file", _str, "Rule file, relative to the rule folder it was loaded from "
               "(`builtin/…` for auditlens' own pack).", "rule file"),
        ACTIVITY["source"],
        Column("cluster", _str, "Cluster of a Kubernetes match.", "k8s cluster"),
        Column("node", _str, "Node of an auditd match.", "auditd node="),
        ACTIVITY["actor"],
        ACTIVITY["action"],
        ACTIVITY["object"],
        Column("serial", _i64, "auditd event serial of the match.", "msg=audit(…:SERIAL)"),
        Column("audit_id", _str, "Kubernetes request id (auditID) of the match.", "auditID"),
        Column("file", _str, "Input file of the (first) matched record or Event.", "provenance"),
        Column("line", _i64, "Line of the first matched record or Event in that file.", "provenance"),
        Column("lines", pa.list_(_i64), "Lines of every record of the event that matched a part "
               "of the rule.", "provenance"),
        Column("matched", pa.map_(_str, _str), "The fields the rule reads, with their values in "
               "the (first) matched record (`keywords`: the record text searched).", "derived"),
    ),
)

DETECTION_RULES = TableSchema(
    "detection_rules",
    "One row per rule loaded: whether it runs, and why not when it does not (a field the table "
    "lacks, a body the audit level did not log, a log source auditlens does not read).",
    (
        Column("rule_id", _str, "Rule id.", "rule id"),
        Column("rule_title", _str, "Rule title.", "rule title"),
        Column("rule_level", _str, "Severity the rule gives.", "rule level"),
        Column("rule_file", _str, "Rule file, relative to the folder it was loaded from.", "rule file"),
        Column("source", _str, "Table the rule runs on: auditd or k8s; null when none.", "logsource"),
        Column("applicable", pa.bool_(), "Whether the rule was run over the input.", "derived"),
        Column("reason", _str, "Why the rule was not run.", "derived"),
        Column("matches", _i64, "Number of matches.", "derived"),
    ),
)
