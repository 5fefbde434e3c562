"""pySigma's parsed condition tree → a tree of vectorised matchers over a :class:`~.views.View`.

pySigma has already done the Sigma part: identifiers, ``1 of``/``all of`` selectors and ``not``
are resolved into AND/OR/NOT nodes, each detection item into field = value leaves, and the value
modifiers are folded into the values (``contains`` → ``*x*``, ``all`` → AND, ``re`` → a regular
expression, ``cidr`` → a network, ``cased`` → a case-sensitive string). What is left, and is
done here, is turning each leaf into one Arrow compute call over a whole column (``equal``,
``starts_with``, ``match_substring_regex``…) and the tree into boolean algebra over the masks.
Like pySigma's backends (``convert_condition_*`` per node type), one small function per node or
value type; unlike them the target is not a query string but Arrow kernels.

Sigma matches strings case-insensitively unless ``|cased``: values are compared with lowered
columns (computed once per table by the view). Keywords (values without a field) match
anywhere in the record's text: ``'grep'`` is ``*grep*`` over :meth:`.View.text`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.types import (
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from .views import Array, Column, NotApplicable, View

__all__ = ["Node", "any_of", "compile_tree", "event_and"]

Mask: TypeAlias = Any  # a boolean pa.Array or pa.ChunkedArray


def _false(n: int) -> pa.Array:
    return pa.array(np.zeros(n, dtype=bool))


def _bools(mask: Any) -> Mask:
    return pc.fill_null(mask, False) if mask.null_count else mask


# --- value matchers: a column of strings → a mask ---------------------------------------------

@dataclass(frozen=True)
class Matcher:
    """One Sigma value as a column operation. ``cased``: compare with the column as logged."""

    apply: Callable[[Array], Mask]
    cased: bool = False
    numeric: bool = False
    presence: bool | None = None  # a test of having a value (True) or none (False), not of it
    key: tuple[Any, ...] | None = None
    """What the test is (operation, operand): equal keys give equal masks over a column, so a
    predicate that many rules share (``type: SYSCALL``, ``key: …``) is evaluated once per view."""


def _regex_from_parts(sigma_parts: Sequence[Any]) -> str:
    """A SigmaString's parts (text and wildcards) as an anchored regular expression."""
    parts = []
    for part in sigma_parts:
        if part is SpecialChars.WILDCARD_MULTI:
            parts.append(".*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            parts.append(".")
        elif isinstance(part, str):
            parts.append(re.escape(part))
        else:
            raise NotApplicable(f"placeholder values ({part}) need a pipeline that fills them")
    return "(?s)^" + "".join(parts) + "$"


def string_matcher(s: SigmaString) -> Matcher:
    """Equality with Sigma wildcards: a plain string is ``equal``, ``x*`` ``starts_with``, ``*x``
    ``ends_with``, ``*x*`` ``match_substring`` and anything else a regular expression."""
    cased = isinstance(s, SigmaCasedString)
    parts = list(s.s)
    lead = bool(parts) and parts[0] is SpecialChars.WILDCARD_MULTI
    trail = len(parts) > 1 and parts[-1] is SpecialChars.WILDCARD_MULTI
    inner = parts[int(lead): len(parts) - int(trail)]
    if all(isinstance(p, str) for p in inner):
        text = "".join(inner)  # type: ignore[arg-type]
        if not cased:
            text = text.lower()
        if not inner:
            return Matcher(lambda v: pc.is_valid(v), cased=True, presence=True, key=("valid",)) \
                if lead else Matcher(lambda v: pc.equal(v, ""), cased, key=("equal", ""))
        if lead and trail:
            return Matcher(lambda v: pc.match_substring(v, text), cased, key=("contains", text))
        if lead:
            return Matcher(lambda v: pc.ends_with(v, text), cased, key=("endswith", text))
        if trail:
            return Matcher(lambda v: pc.starts_with(v, text), cased, key=("startswith", text))
        return Matcher(lambda v: pc.equal(v, text), cased, key=("equal", text))
    pattern = _regex_from_parts(parts)
    return regex_matcher(pattern if cased else "(?i)" + pattern)


def keyword_matcher(s: SigmaString) -> Matcher:
    """A keyword (a value without a field) found in the record text as a whole word, the way
    the full-text search of the SIEMs the rules were written for finds it: ``init`` matches
    ``init 6`` but not ``init_module``, ``6`` not ``b64``. Wildcards widen the word
    (``*grep*``). Case-insensitive unless ``|cased``."""
    parts = list(s.s)
    body = _regex_from_parts(parts)[len("(?s)^"):-1]
    first, last = parts[0] if parts else "", parts[-1] if parts else ""
    left = r"\b" if isinstance(first, str) and first[:1].isalnum() else ""
    right = r"\b" if isinstance(last, str) and last[-1:].isalnum() else ""
    pattern = "(?s)" + left + body + right
    return regex_matcher(pattern if isinstance(s, SigmaCasedString) else "(?i)" + pattern)


def regex_matcher(pattern: str) -> Matcher:
    """A regular expression searched in the value (Sigma ``|re`` is unanchored). RE2 (Arrow) is
    tried first; a pattern it cannot run (look-around, back-references) falls back to Python's
    ``re`` over the distinct values."""
    try:
        pc.match_substring_regex(pa.array(["x"]), pattern)
    except pa.ArrowInvalid:
        compiled = re.compile(pattern)
        return Matcher(lambda v: _by_value(v, lambda x: compiled.search(x) is not None), True,
                       key=("re", pattern))
    return Matcher(lambda v: pc.match_substring_regex(v, pattern), True, key=("re", pattern))


def _by_value(values: Array, test: Callable[[str], bool]) -> Mask:
    """Run a Python test once per distinct value (few in audit logs) and map back to rows."""
    distinct = pc.unique(values).drop_null()
    flags = pa.array([test(v) for v in distinct.to_pylist()], pa.bool_())
    return pc.take(flags, pc.index_in(values, value_set=distinct))


def _in_network(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> Callable[[str], bool]:
    def test(value: str) -> bool:
        try:
            return ipaddress.ip_address(value.split("%", 1)[0]) in net
        except ValueError:
            return False
    return test


def _compare(op: Any, number: float) -> Callable[[str], bool]:
    ops = {SigmaCompareExpression.CompareOperators.LT: lambda x: x < number,
           SigmaCompareExpression.CompareOperators.LTE: lambda x: x <= number,
           SigmaCompareExpression.CompareOperators.GT: lambda x: x > number,
           SigmaCompareExpression.CompareOperators.GTE: lambda x: x >= number}
    check = ops[op]

    def test(value: str) -> bool:
        try:
            return bool(check(float(value)))
        except ValueError:
            return False
    return test


def value_matcher(value: Any) -> Matcher:
    """The matcher for one pySigma value object (one function per value type, as backends do)."""
    if isinstance(value, SigmaString):
        return string_matcher(value)
    if isinstance(value, SigmaNumber):
        text = str(value.number)
        return Matcher(lambda v: pc.equal(v, text), cased=True, numeric=True, key=("equal", text))
    if isinstance(value, SigmaBool):
        text = "true" if value.boolean else "false"
        return Matcher(lambda v: pc.equal(v, text), key=("equal", text))
    if isinstance(value, SigmaRegularExpression):
        flags = {SigmaRegularExpressionFlag.IGNORECASE: "i", SigmaRegularExpressionFlag.MULTILINE: "m",
                 SigmaRegularExpressionFlag.DOTALL: "s"}
        inline = "".join(flags[f] for f in value.flags if f in flags)
        return regex_matcher((f"(?{inline})" if inline else "") + str(value.regexp.to_plain()))
    if isinstance(value, SigmaCIDRExpression):
        test = _in_network(value.network)
        return Matcher(lambda v: _by_value(v, test), cased=True)
    if isinstance(value, SigmaCompareExpression):
        ctest = _compare(value.op, float(value.number.number))
        return Matcher(lambda v: _by_value(v, ctest), cased=True, numeric=True)
    if isinstance(value, SigmaNull):
        return Matcher(lambda v: pc.is_null(v), cased=True, presence=False, key=("null",))
    if isinstance(value, SigmaExists):
        want = bool(value.exists)
        return Matcher((lambda v: pc.is_valid(v)) if want else (lambda v: pc.is_null(v)),
                       cased=True, presence=want)
    raise NotApplicable(f"value {value!r} ({type(value).__name__}) is not supported")


# --- the tree ----------------------------------------------------------------------------------

@dataclass
class Node:
    """A compiled condition: evaluates to a row mask over a view."""

    kind: str  # "field", "keyword", "and", "or", "not", "event_and"
    children: list[Node] = field(default_factory=list)
    name: str = ""
    matcher: Matcher | None = None
    pinned: frozenset[str] | None = None  # auditd record types this node can only match

    def needs(self) -> frozenset[str] | None:
        """The record types whose rows this node reads (None: all). A record-level node reads
        only the types it can match; an event-level one also those its ``not`` parts name."""
        if self.kind != "event_and":
            return self.pinned
        parts = [(c.children[0] if c.kind == "not" else c).needs() for c in self.children]
        if any(p is None for p in parts):
            return None
        return frozenset().union(*parts)  # type: ignore[arg-type]

    def fields(self) -> set[str]:
        """Field names this node reads (``""`` for keyword text)."""
        if self.kind in ("field", "keyword"):
            return {self.name}
        return set().union(*(c.fields() for c in self.children)) if self.children else set()

    def evaluate(self, view: View) -> Mask:
        n = view.num_rows
        if self.kind == "field":
            return _eval_field(self, view)
        if self.kind == "keyword":
            assert self.matcher is not None
            return _bools(self.matcher.apply(view.text()))
        if self.kind == "not":
            return pc.invert(self.children[0].evaluate(view))
        if self.kind == "event_and":
            return _event_and(self.children, view)
        masks = [c.evaluate(view) for c in self.children]
        if not masks:
            return _false(n)
        out = masks[0]
        for m in masks[1:]:
            out = pc.and_(out, m) if self.kind == "and" else pc.or_(out, m)
        return out


def _eval_field(node: Node, view: View) -> Mask:
    m = node.matcher
    assert m is not None
    if m.key is None:
        return _field_mask(node, view)
    key = (node.name, m.numeric, m.cased, m.presence, m.key)
    got = view.masks.get(key)
    if got is None:
        got = view.masks[key] = _field_mask(node, view)
    return got


def _field_mask(node: Node, view: View) -> Mask:
    m = node.matcher
    assert m is not None
    col: Column = view.column(node.name, m.numeric)
    if m.presence is not None:
        if col.rows is None:
            return _bools(m.apply(col.values))
        # a list field has a value for a row with at least one value
        present = np.zeros(view.num_rows, dtype=bool)
        present[pc.unique(col.rows).to_numpy()] = True
        return pa.array(present if m.presence else ~present)
    distinct, index = view.distinct(node.name, m.numeric, lower=not m.cased)
    hit = _bools(pc.take(_bools(m.apply(distinct)), index))  # a null value matches nothing
    if col.rows is None:
        return hit
    rows = pc.filter(col.rows, hit).to_numpy() if len(col.values) else np.array([], dtype=np.int64)
    mask = np.zeros(view.num_rows, dtype=bool)
    mask[rows] = True
    return pa.array(mask)


def _event_and(children: list[Node], view: View) -> Mask:
    """Records of events in which every part matched some record (``near``, or selections
    pinned to different record types); a ``not`` part holds when *no* record of the event
    matches what it negates. The records that matched a positive part are returned."""
    events = view.event_ids()
    out: Mask | None = None
    anyof: Mask | None = None
    for child in children:
        negated = child.kind == "not"
        m = (child.children[0] if negated else child).evaluate(view)
        have = pc.is_in(events, value_set=pc.unique(pc.filter(events, m)))
        if negated:
            have = pc.invert(have)
        else:
            anyof = m if anyof is None else pc.or_(anyof, m)
        out = have if out is None else pc.and_(out, have)
    if out is None or anyof is None:
        return _false(view.num_rows)
    return pc.and_(out, anyof)


def event_and(nodes: list[Node]) -> Node:
    """A node true for records of events where every one of ``nodes`` matched a record."""
    positive = [n.pinned for n in nodes if n.kind != "not"]
    pinned = frozenset().union(*positive) if all(p is not None for p in positive) else None  # type: ignore[arg-type]
    return Node("event_and", nodes, pinned=pinned)


def any_of(nodes: list[Node]) -> Node:
    """Several conditions of one rule: any of them."""
    if len(nodes) == 1:
        return nodes[0]
    pins = [n.pinned for n in nodes if n.pinned is not None]
    return Node("or", nodes, pinned=frozenset().union(*pins) if len(pins) == len(nodes) else None)


def _pinned_of(item: Any) -> frozenset[str] | None:
    if isinstance(item, ConditionFieldEqualsValueExpression) and item.field == "type" \
            and isinstance(item.value, SigmaString) and not item.value.contains_special():
        return frozenset({str(item.value.to_plain()).upper()})
    return None


def compile_tree(item: Any, view: type[View], *, by_event: bool) -> Node:
    """Compile one pySigma condition node. ``by_event`` (auditd): an AND of parts pinned to
    different record types (``type: EXECVE`` and ``type: PATH``) is evaluated per event."""
    if isinstance(item, ConditionFieldEqualsValueExpression):
        view.check(item.field)
        return Node("field", name=item.field, matcher=value_matcher(item.value), pinned=_pinned_of(item))
    if isinstance(item, ConditionValueExpression):
        if isinstance(item.value, SigmaNumber):  # a bare number keyword is its text: `- 6`
            return Node("keyword", matcher=keyword_matcher(SigmaString(str(item.value.number))))
        if not isinstance(item.value, SigmaString):
            raise NotApplicable(f"keyword {item.value!r} is not a string")
        return Node("keyword", matcher=keyword_matcher(item.value))
    if isinstance(item, ConditionNOT):
        return Node("not", [compile_tree(item.args[0], view, by_event=by_event)])
    if isinstance(item, ConditionOR):
        kids = [compile_tree(a, view, by_event=by_event) for a in item.args]
        pins = [k.pinned for k in kids if k.pinned is not None]
        pinned = frozenset().union(*pins) if len(pins) == len(kids) else None
        return Node("or", kids, pinned=pinned)
    if isinstance(item, ConditionAND):
        kids = [compile_tree(a, view, by_event=by_event) for a in item.args]
        pins = [k.pinned for k in kids if k.pinned is not None]
        if not pins:
            return Node("and", kids)
        common = pins[0].intersection(*pins[1:])
        # "PATH selection and not SYSCALL filter": the filter can only speak of another record
        # of the event, so the whole AND is read per event
        negated = [k.children[0].pinned for k in kids if k.kind == "not"]
        elsewhere = any(p is not None and not (p & common) for p in negated)
        if by_event and (not common or elsewhere):
            return event_and(kids)
        return Node("and", kids, pinned=common)
    raise NotApplicable(f"condition element {type(item).__name__} is not supported")
