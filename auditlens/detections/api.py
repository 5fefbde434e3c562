"""The public entry points: ``auditlens.detect`` and :func:`run_detections` (which the CLI uses)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa

from ..errors import AuditlensError
from ..rejects import RejectLog
from ..schema.detections import LEVELS

if TYPE_CHECKING:
    from .engine import DetectionResult
    from .loading import RuleSet

__all__ = ["LEVELS", "detect", "load_rules", "run_detections"]


Inputs: TypeAlias = "str | os.PathLike[str] | pa.Table | Iterable[str | os.PathLike[str] | pa.Table]"


def _require_pysigma() -> None:
    try:
        import sigma  # noqa: F401
    except ImportError:
        raise AuditlensError("detections need pySigma: pip install 'auditlens[detect]'") from None


def load_rules(paths: Iterable[str | Path] = (), *, builtin: bool = True) -> RuleSet:
    """Load and compile Sigma rules: the built-in pack (unless ``builtin=False``) and every rule
    under ``paths`` (files or folders). Rules that cannot run are kept in ``.skipped``."""
    _require_pysigma()
    from .loading import load_rules as load

    return load(paths, builtin=builtin)


AUDITD_PART = 100_000
"""auditd records run through the rules at a time (the memory of a detect run)."""
K8S_PART = 20_000
"""Kubernetes Events run through the rules at a time."""
HOLD = 2_000
"""Records at the end of a part whose events wait for the next part: an event's records are
written together, so an event is cut only when its records lie further apart than this."""


def _split(inputs: Inputs) -> tuple[list[str], dict[str, list[pa.Table]]]:
    items = [inputs] if isinstance(inputs, str | os.PathLike | pa.Table) else list(inputs)
    tables: dict[str, list[pa.Table]] = {}
    for table in (i for i in items if isinstance(i, pa.Table)):
        kind = (table.schema.metadata or {}).get(b"auditlens.table", b"").decode()
        if kind not in ("auditd_records", "k8s_events"):
            raise AuditlensError("detections run over auditd_records (read_auditd_records) or "
                                 f"k8s_events (read_k8s_audit) tables, not {kind or 'this table'}")
        tables.setdefault(kind, []).append(table)
    return [str(i) for i in items if not isinstance(i, pa.Table)], tables


def _event_keys(table: pa.Table) -> Any:
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(pc.fill_null(table["node"], ""),
                                       pc.cast(table["serial"], pa.string()), ":")


def auditd_parts(batches: Iterable[pa.RecordBatch], size: int = AUDITD_PART,
                 hold: int = HOLD) -> Iterator[pa.Table]:
    """Record batches regrouped into parts of about ``size`` records, each holding whole
    events: the records of events seen in the last ``hold`` records of a part move to the next."""
    import pyarrow.compute as pc

    waiting: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        waiting.append(batch)
        count += batch.num_rows
        if count < size:
            continue
        table = pa.Table.from_batches(waiting)
        keys = _event_keys(table)
        late = pc.is_in(keys, value_set=pc.unique(keys.slice(max(0, len(keys) - hold))))
        yield table.filter(pc.invert(late))
        rest = table.filter(late)
        waiting, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(waiting)


def _k8s_parts(batches: Iterable[pa.RecordBatch], size: int = K8S_PART) -> Iterator[pa.Table]:
    waiting: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        waiting.append(batch)
        count += batch.num_rows
        if count >= size:
            yield pa.Table.from_batches(waiting)
            waiting, count = [], 0
    if count:
        yield pa.Table.from_batches(waiting)


def _feed(runner: Any, inputs: Inputs, rejects: RejectLog | None, jobs: int) -> None:
    """Run the rules over the tables given and the files of the paths given, a part at a time."""
    from ..auditd.reader import open_auditd_records
    from ..collect import route
    from ..k8s.reader import open_k8s_audit

    paths, tables = _split(inputs)
    for table in tables.get("auditd_records", []):
        runner.feed(auditd=table)
    for table in tables.get("k8s_events", []):
        runner.feed(k8s=table)
    if not paths:
        return
    files = route(paths).files
    if files.get("auditd"):
        records = open_auditd_records(files["auditd"], rejects=rejects, jobs=jobs)
        for part in auditd_parts(records, AUDITD_PART, HOLD):
            runner.feed(auditd=part)
    if files.get("k8s"):
        events = open_k8s_audit(files["k8s"], rejects=rejects, jobs=jobs, batch_size=K8S_PART)
        for part in _k8s_parts(events, K8S_PART):
            runner.feed(k8s=part)


def run_detections(inputs: Inputs, rules: Iterable[str | Path] | RuleSet = (), *,
                   builtin: bool = True, level: str | None = None,
                   rejects: RejectLog | None = None, jobs: int = 1) -> DetectionResult:
    """Matches and the fate of every rule (see :func:`detect`)."""
    from .engine import Runner
    from .loading import RuleSet

    if level is not None and level not in LEVELS:
        raise AuditlensError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules, builtin=builtin)
    runner = Runner(ruleset, level=level)
    _feed(runner, inputs, rejects, jobs)
    return runner.finish()


def detect(inputs: Inputs, rules: Iterable[str | Path] | RuleSet = (), *, builtin: bool = True,
           level: str | None = None, rejects: RejectLog | None = None, jobs: int = 1) -> pa.Table:
    """Run Sigma rules over audit logs or tables; one row per match (``detections`` schema).

    ``inputs``: files, folders (routed by content, as ``auditlens report`` does) or tables from
    ``read_auditd_records`` / ``read_k8s_audit``. ``rules``: rule files or folders added to the
    built-in pack (``builtin=False`` leaves it out). ``level``: the least severe level kept.
    Rules that cannot run (see :func:`run_detections` ``.rules``) are counted in the table's
    metadata (``auditlens.rules_not_applicable``).
    """
    result = run_detections(inputs, rules, builtin=builtin, level=level, rejects=rejects, jobs=jobs)
    skipped = sum(1 for a in result.rules["applicable"].to_pylist() if not a)
    meta = dict(result.matches.schema.metadata or {})
    meta[b"auditlens.rules_run"] = str(result.rules.num_rows - skipped).encode()
    meta[b"auditlens.rules_not_applicable"] = str(skipped).encode()
    return result.matches.replace_schema_metadata(meta)
