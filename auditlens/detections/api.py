"""The public entry points: ``auditlens.detect`` and :func:`run_detections` (which the CLI uses)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import pyarrow as pa

from ..errors import AuditlensError
from ..rejects import RejectLog
from .levels import LEVELS

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


def open_events(table: pa.Table) -> Any:
    """Which records of ``table`` (a stretch of the input, in input order) belong to events that
    may still have records to come: a boolean mask.

    The test is the event assembler's (:mod:`auditlens.auditd.assemble`): an event is complete
    at its EOE record, at once when it starts with a single-record (user-space or daemon) type,
    or when a record stamped more than ``END_OF_EVENT_TIMEOUT`` seconds after it follows it in
    the input; and when more than ``MAX_PENDING`` events are open the oldest are closed."""
    import numpy as np
    import pyarrow.compute as pc

    from ..auditd.assemble import END_OF_EVENT_TIMEOUT, MAX_PENDING, is_single_record_type

    if table.num_rows == 0:
        return pa.array([], pa.bool_())
    key = pc.binary_join_element_wise(
        pc.fill_null(table["node"], ""), pc.cast(table["serial"], pa.string()),
        pc.cast(pc.cast(table["time"], pa.int64()), pa.string()), ":")
    coded = pc.dictionary_encode(key.combine_chunks() if isinstance(key, pa.ChunkedArray) else key)
    events = coded.indices.to_numpy(zero_copy_only=False)
    count = len(coded.dictionary)
    first = np.full(count, len(events), np.int64)
    np.minimum.at(first, events, np.arange(len(events)))
    types = table["record_type"]
    done = np.zeros(count, bool)
    done[events[pc.fill_null(pc.equal(types, "EOE"), False).to_numpy(zero_copy_only=False)]] = True
    distinct = pc.unique(types).to_pylist()
    single = pc.is_in(types, value_set=pa.array(
        [t for t in distinct if t and is_single_record_type(t)], pa.string()))
    single = pc.fill_null(single, False).to_numpy(zero_copy_only=False)
    done |= single[first]
    unit = 10 ** {"s": 0, "ms": 3, "us": 6, "ns": 9}[table.schema.field("time").type.unit]
    sec = pc.fill_null(pc.cast(table["time"], pa.int64()), -1).to_numpy(zero_copy_only=False) // unit
    later = np.append(np.maximum.accumulate(sec[::-1])[::-1], -1)  # latest stamp from here on
    stamp = sec[first]
    done |= (stamp < 0) | (stamp < later[first + 1] - END_OF_EVENT_TIMEOUT)
    pending = np.flatnonzero(~done)
    if len(pending) > MAX_PENDING:  # too many held back: the oldest are closed as they are
        done[pending[np.argsort(first[pending])[:-MAX_PENDING]]] = True
    return pa.array(~done[events])


def auditd_parts(batches: Iterable[pa.RecordBatch], size: int = AUDITD_PART) -> Iterator[pa.Table]:
    """Record batches regrouped into parts of about ``size`` records, each holding whole
    events: the records of events still open at a part's end (:func:`open_events`) move to the
    next part, however far apart their records are."""
    import pyarrow.compute as pc

    waiting: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        waiting.append(batch)
        count += batch.num_rows
        if count < size:
            continue
        table = pa.Table.from_batches(waiting)
        late = open_events(table)
        held = pc.sum(late).as_py() or 0
        if held >= size:  # open events fill a part: run them as they are (memory stays bounded)
            late = pa.array([False] * table.num_rows)
        elif held == table.num_rows:
            continue
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
    from ..formats import route
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
        for part in auditd_parts(records, AUDITD_PART):
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
