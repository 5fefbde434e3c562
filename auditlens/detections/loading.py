"""Loading Sigma rules with pySigma and compiling each for the table its log source names.

Rule files are parsed by pySigma (``SigmaCollection``), never by us: the YAML, the detection
items, modifiers and conditions are its job. Here a rule is routed to a table by its
``logsource`` (a registry keyed by (product, service), the names rules use) and compiled by
:mod:`.compiler`. A rule that cannot run is kept with the reason, so that a user sees once why
it was not run instead of it silently never matching.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import SourceError
from .compiler import Node, any_of, compile_tree, event_and
from .levels import LEVELS
from .views import AuditdView, K8sView, NotApplicable, View

__all__ = ["LEVELS", "SOURCES", "CompiledCorrelation", "CompiledRule", "RuleInfo", "RuleSet", "Skipped", "load_rules"]

SOURCES: dict[tuple[str, str], type[View]] = {
    ("linux", "auditd"): AuditdView,
    ("kubernetes", "audit"): K8sView,
}
"""Which view (table) a rule's ``logsource`` (product, service) runs on."""

# "a | near b": pySigma rejects the deprecated pipe syntax; ``near`` (parts matched by records of
# one event) is the one pipe auditlens can honour exactly, because it keeps the auditd serial
_NEAR = re.compile(r"^(?P<left>[^|]+?)\s*\|\s*near\s+(?P<right>[^|]+)$")


@dataclass(frozen=True)
class RuleInfo:
    """What a match shows about its rule (author and references: the license asks for them)."""

    id: str
    title: str
    level: str
    status: str
    tags: list[str]
    author: str
    references: list[str]
    file: str


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to run: its table, its condition tree and the fields it reads."""

    info: RuleInfo
    view: type[View]
    node: Node
    fields: list[str]
    sigma: Any = None  # the pySigma rule, which correlations refer to


@dataclass(frozen=True)
class CompiledCorrelation:
    """A Sigma correlation rule (see :mod:`.correlate`) over rules of the same load."""

    info: RuleInfo
    sigma: Any
    refs: list[Any]  # the pySigma rules (base or correlation) it names, in order
    generate: bool   # whether the rules it names also report their own matches


@dataclass(frozen=True)
class Skipped:
    """A rule that does not run, and why."""

    info: RuleInfo
    reason: str
    source: str | None = None


@dataclass
class RuleSet:
    """Rules loaded from the built-in pack and the user's folders."""

    rules: list[CompiledRule] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    correlations: list[CompiledCorrelation] = field(default_factory=list)


def builtin_folder() -> Path:
    """The folder of auditlens' own rule pack (shipped with the package)."""
    return Path(str(resources.files("auditlens.detections") / "pack"))


def _info(rule: Any, root: Path | None) -> RuleInfo:
    path = Path(str(rule.source.path)) if rule.source is not None and rule.source.path else None
    if path is None:
        file = "<string>"
    elif root is None:
        file = path.name
    else:
        try:
            file = path.relative_to(root).as_posix()
        except ValueError:
            file = path.name
        if root == builtin_folder():
            file = "builtin/" + file
    return RuleInfo(
        id=str(rule.id) if rule.id is not None else (file.rsplit("/", 1)[-1]),
        title=rule.title or "",
        level=rule.level.name.lower() if rule.level is not None else "",
        status=rule.status.name.lower() if rule.status is not None else "",
        tags=[f"{t.namespace}.{t.name}" for t in rule.tags],
        author=rule.author or "",
        references=list(rule.references or []),
        file=file,
    )


def _parse(text: str, rule: Any) -> Any:
    from sigma.conditions import SigmaCondition

    return SigmaCondition(text, rule.detection, rule.source).parsed


def compile_rule(rule: Any, info: RuleInfo) -> CompiledRule:
    """Compile one pySigma rule (raises :class:`NotApplicable` with the reason)."""
    if rule.errors:
        raise NotApplicable("; ".join(str(e) for e in rule.errors))
    src = rule.logsource
    view = SOURCES.get(((src.product or "").lower(), (src.service or "").lower()))
    if view is None:
        raise NotApplicable(f"log source product={src.product} service={src.service} "
                            f"category={src.category} is not one auditlens reads")
    by_event = view is AuditdView
    nodes: list[Node] = []
    for condition in rule.detection.condition:
        text = condition.strip()
        near = _NEAR.match(text)
        if near and by_event:
            nodes.append(event_and([compile_tree(_parse(near[p], rule), view, by_event=True)
                                    for p in ("left", "right")]))
        elif "|" in text:
            raise NotApplicable(f"condition {text!r} uses the deprecated Sigma pipe "
                                "(aggregation); write it as a Sigma correlation rule")
        else:
            nodes.append(compile_tree(_parse(text, rule), view, by_event=by_event))
    node = any_of(nodes)
    return CompiledRule(info, view, node, sorted(node.fields()), rule)


def _unreadable(path: Path, reason: str, root: Path) -> Skipped:
    try:
        file = path.relative_to(root).as_posix()
    except ValueError:
        file = path.name
    return Skipped(RuleInfo(id=file, title=path.stem, level="", status="", tags=[], author="",
                            references=[], file=file), reason)


def _collection(folder: Path, out: RuleSet) -> tuple[Any, Path]:
    """pySigma's collection of every rule file under ``folder``; a file that is not YAML is
    listed with the parser's message instead of stopping the whole load."""
    import yaml
    from sigma.collection import SigmaCollection

    root = folder if folder.is_dir() else folder.parent

    def readable(path: Path) -> Path | None:
        try:
            list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            out.skipped.append(_unreadable(path, f"not valid YAML: {exc}".replace("\n", " "), root))
            return None
        return path

    collection = SigmaCollection.load_ruleset([folder], collect_errors=True, on_beforeload=readable)
    for error in collection.errors:
        where = Path(str(error.source.path)) if error.source and error.source.path else folder
        out.skipped.append(_unreadable(where, str(error), root))
    return collection, root


_CORRELATIONS = ("event_count", "value_count", "temporal", "temporal_ordered")


def _add_correlation(out: RuleSet, rule: Any, info: RuleInfo) -> None:
    kind = rule.type.name.lower()
    if kind not in _CORRELATIONS:
        out.skipped.append(Skipped(info, f"correlation type {kind} is not supported "
                                         f"(supported: {', '.join(_CORRELATIONS)})"))
        return
    out.correlations.append(CompiledCorrelation(info, rule, [r.rule for r in rule.rules],
                                                bool(rule.generate)))


def load_rules(paths: Iterable[str | Path] = (), *, builtin: bool = True) -> RuleSet:
    """Load and compile Sigma rules: the built-in pack (unless ``builtin=False``) and every
    ``.yml`` rule under ``paths`` (files or folders, e.g. a clone of SigmaHQ/sigma)."""
    from sigma.correlations import SigmaCorrelationRule
    from sigma.exceptions import SigmaError

    folders = [builtin_folder()] if builtin else []
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise SourceError("no such rule file or folder", file=str(p))
        folders.append(path)
    out = RuleSet()
    for folder in folders:
        try:
            collection, root = _collection(folder, out)
        except SigmaError as exc:
            raise SourceError(f"cannot load Sigma rules: {exc}", file=str(folder)) from None
        for rule in collection:
            info = _info(rule, root)
            if isinstance(rule, SigmaCorrelationRule):
                _add_correlation(out, rule, info)
                continue
            try:
                out.rules.append(compile_rule(rule, info))
            except (NotApplicable, SigmaError) as exc:
                view = SOURCES.get(((rule.logsource.product or "").lower(),
                                    (rule.logsource.service or "").lower()))
                out.skipped.append(Skipped(info, str(exc), view.source if view else None))
    return out
