"""The public entry points: ``auditlens.detect`` and :func:`run_detections` (which the CLI uses)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

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


def _tables(inputs: Inputs, rejects: RejectLog | None, jobs: int) -> dict[str, pa.Table]:
    from ..auditd.reader import read_auditd_records
    from ..collect import route
    from ..k8s.reader import read_k8s_audit

    items = [inputs] if isinstance(inputs, str | os.PathLike | pa.Table) else list(inputs)
    paths = [str(i) for i in items if not isinstance(i, pa.Table)]
    parts: dict[str, list[pa.Table]] = {}
    for table in (i for i in items if isinstance(i, pa.Table)):
        kind = (table.schema.metadata or {}).get(b"auditlens.table", b"").decode()
        if kind not in ("auditd_records", "k8s_events"):
            raise AuditlensError("detections run over auditd_records (read_auditd_records) or "
                                 f"k8s_events (read_k8s_audit) tables, not {kind or 'this table'}")
        parts.setdefault(kind, []).append(table)
    if paths:
        files = route(paths).files
        if files.get("auditd"):
            parts.setdefault("auditd_records", []).append(
                read_auditd_records(files["auditd"], rejects=rejects, jobs=jobs))
        if files.get("k8s"):
            parts.setdefault("k8s_events", []).append(
                read_k8s_audit(files["k8s"], rejects=rejects, jobs=jobs))
    return {k: pa.concat_tables(v) for k, v in parts.items()}


def run_detections(inputs: Inputs, rules: Iterable[str | Path] | RuleSet = (), *,
                   builtin: bool = True, level: str | None = None,
                   rejects: RejectLog | None = None, jobs: int = 1) -> DetectionResult:
    """Matches and the fate of every rule (see :func:`detect`)."""
    from .engine import run_rules
    from .loading import RuleSet

    if level is not None and level not in LEVELS:
        raise AuditlensError(f"unknown level {level!r}; one of {', '.join(LEVELS)}")
    ruleset = rules if isinstance(rules, RuleSet) else load_rules(rules, builtin=builtin)
    tables = _tables(inputs, rejects, jobs)
    return run_rules(ruleset, auditd=tables.get("auditd_records"), k8s=tables.get("k8s_events"),
                     level=level)


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
