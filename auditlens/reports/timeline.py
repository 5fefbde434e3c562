"""The cross-layer view: what one person did through the cloud, in the cluster's API and on its
nodes, on one timeline.

Each layer logs its own identity of a person: the cloud its IAM identity (an e-mail, an AWS
principal's ARN), the API server the username the cluster's authenticator gave
(``IAM#alice@example.com`` on OpenShift on IBM Cloud, the principal's e-mail on GKE, the UPN on
AKS, the principal's ARN or a mapped name on EKS), a node the login name. :func:`timeline` ties
them where the logs themselves allow it, says how in ``matched_by``, and leaves the others apart
(``unmatched``, under their own actor) rather than guessing:

- ``IAM#<e-mail>`` (the prefix OpenShift on IBM Cloud gives IAM users) is the e-mail;
- an e-mail is itself, lower-cased: the same e-mail in two layers is one person (``email``);
- an AWS ARN is the principal without its IAM path; an assumed-role session
  (``arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION``) is that session; a role's own ARN
  never ties (a role is not a person: EKS usernames that are a role's ARN stay unmatched);
- any other name ties only to the identical name in another layer (``same-name``): a node's
  login ``alice`` and an API username ``alice``. The same name in two identity stores is the
  organisation's convention, not proof;
- ``aliases`` (given by the caller) map a name as logged to a person: the only way to tie
  ``alice`` to ``alice@example.com``; rows tied that way say ``alias``.

Names that are nobody (anonymous, an invalid user, an uid without a name) never tie.
Besides the actor's name, the activity table's ``actor_id`` is read: an AWS principal's ARN
there (CloudTrail's ``userIdentity.arn``; the ``arn`` EKS keeps in ``user.extra``) ties like an
ARN name, so an IAM user logged as ``carol`` by CloudTrail and mapped to ``carol`` (or to
anything else) by EKS is one person (``arn``). Other stable ids (``IBMid-…``, an Azure object
id) appear in one layer only and tie nothing.

Ties need every layer's identities, the rows do not: :func:`timeline_rows` gives a layer's rows,
:func:`known_identities` the few (identity, layer, form) facts each part of the logs knows, and
:func:`resolve` fills ``person`` and ``matched_by`` of any batch of rows from the union of
those facts. The report (``auditlens report timeline``) is built so, node by node, in bounded
memory; :func:`timeline` does all three on one activity table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..schema import ACTIVITY, TIMELINE

__all__ = ["LAYERS", "identity", "known_identities", "resolve", "timeline", "timeline_rows"]

LAYERS: dict[str, str] = {"cloud": "service", "k8s": "api", "auditd": "node"}
"""Activity ``source`` → timeline ``layer``."""

_LAYER_RANK = {"service": 0, "api": 1, "node": 2}
# the strongest evidence first: what a row says when it is tied by more than one link
_RULE_RANK = {"IAM#email": 0, "email": 1, "arn": 2, "same-name": 3, "alias": 4}
_EMAIL = re.compile(r"^[^@\s:/#]+@[^@\s:/]+\.[^@\s:/.]+$")
_ARN = re.compile(r"^arn:(?P<partition>aws[\w-]*):(?P<service>iam|sts)::(?P<account>\d*):"
                  r"(?P<resource>.+)$")
_NOBODY = re.compile(r"^(\(invalid user\)|unknown\(\d+\)|\?|system:anonymous|"
                     r"system:unauthenticated)$")


def _arn(text: str) -> str | None:
    """The principal of an IAM/STS ARN without its path; None for another ARN."""
    m = _ARN.match(text)
    if m is None:
        return None
    head = f"arn:{m['partition']}:{m['service']}::{m['account']}:"
    kind, _, rest = m["resource"].partition("/")
    if not rest or kind == "role":  # a role is not a person: who assumed it is the session
        return None
    if kind == "assumed-role":  # assumed-role/ROLE/SESSION: the session is the person
        role, _, session = rest.partition("/")
        return f"{head}assumed-role/{role}/{session}" if session else None
    return f"{head}{kind}/{rest.rsplit('/', 1)[-1]}"  # user/PATH/NAME → user/NAME


def identity(actor: str | None, aliases: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """(person, form) of one actor as logged: the unified identity it stands for and how it was
    read (``IAM#email``, ``email``, ``arn``, ``alias``, ``name``), or ``(actor, "nobody")`` for
    an identity that never ties (none, anonymous, an invalid user)."""
    if actor is None or _NOBODY.match(actor):
        return actor, "nobody"
    if aliases and actor in aliases:
        person, form = identity(aliases[actor])
        return person, "alias" if form != "nobody" else "nobody"
    if actor.startswith("IAM#") and _EMAIL.match(actor[4:]):
        return actor[4:].lower(), "IAM#email"
    if _EMAIL.match(actor):
        return actor.lower(), "email"
    principal = _arn(actor)
    if principal is not None:
        return principal, "arn"
    if actor.startswith("arn:"):
        return actor, "nobody"  # a role without a session, another service's ARN: not a person
    return actor, "name"


def _link(a: str, b: str) -> str:
    """How two forms of one person are tied."""
    if "alias" in (a, b):
        return "alias"
    if "IAM#email" in (a, b):
        return "IAM#email"
    return {"email": "email", "arn": "arn"}.get(a, "same-name")


Known = frozenset[tuple[str, str, str]]
"""(identity, layer, form) facts: identity ``who`` is logged in ``layer`` in ``form``."""


def _keys(actor: str | None, actor_id: str | None,
          aliases: Mapping[str, str] | None) -> list[tuple[str, str]]:
    """The identities one row stands for, with the form each was read in: its actor's, and the
    AWS principal of its ``actor_id`` when that is an ARN of a person."""
    who, form = identity(actor, aliases)
    keys = [] if who is None or form == "nobody" else [(who, form)]
    principal = _arn(actor_id) if actor_id else None
    if principal is not None and all(k != principal for k, _ in keys):
        keys.append((principal, "arn"))
    return keys


def _layers(source: pa.ChunkedArray) -> pa.Array:
    unknown = set(pc.unique(source).to_pylist()) - set(LAYERS) - {None}
    if unknown or source.null_count:
        shown = ", ".join(sorted(map(str, unknown))) or "null"
        raise ValueError(f"timeline: activity rows of unknown source {shown} "
                         f"(known: {', '.join(LAYERS)})")
    return pc.take(pa.array(list(LAYERS.values())),
                   pc.index_in(source, pa.array(list(LAYERS))))


Triple = tuple[str | None, str | None, str]
_TRIPLE = ("actor", "actor_id", "layer")


def _triples(rows: pa.Table) -> tuple[list[Triple], np.ndarray]:
    """The distinct (actor, actor_id, layer) of ``rows`` — as few as the identities logged —
    and each row's index among them: what is worked out per identity is worked out once."""
    codes = np.zeros(rows.num_rows, np.int64)
    dictionaries = []
    for name in _TRIPLE:
        encoded = pc.dictionary_encode(rows[name].combine_chunks())
        index = np.asarray(pc.fill_null(pc.cast(encoded.indices, pa.int64()), -1)) + 1
        dictionaries.append([None, *encoded.dictionary.to_pylist()])
        codes = codes * len(dictionaries[-1]) + index
    distinct, where = np.unique(codes, return_inverse=True)
    triples = []
    for code in distinct.tolist():
        parts = []
        for values in reversed(dictionaries):
            code, i = divmod(code, len(values))
            parts.append(values[i])
        triples.append(cast(Triple, tuple(reversed(parts))))
    return triples, where


def _distinct(rows: pa.Table) -> list[Triple]:
    return _triples(rows)[0]


def _per_row(rows: pa.Table, value: Callable[[Triple], Any], type_: pa.DataType) -> pa.Array:
    """``value`` of each row's (actor, actor_id, layer), called once per distinct one."""
    triples, where = _triples(rows)
    return pa.array([value(t) for t in triples], type_).take(pa.array(where))


def timeline_rows(
    activity: pa.Table,
    *,
    cluster: str | Collection[str] | None = None,
    person: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> pa.Table:
    """The ``timeline`` rows of activity rows, in their order, ``person`` and ``matched_by``
    not yet worked out (null: :func:`resolve` fills them). Columns of ``activity`` beyond the
    ACTIVITY ones are kept, after the others. Filters as :func:`timeline`."""
    extra = [c for c in activity.column_names if c not in ACTIVITY]
    if cluster is not None:
        wanted = pa.array([cluster] if isinstance(cluster, str) else list(cluster), pa.string())
        keep = pc.or_(pc.is_null(activity["cluster"]), pc.is_in(activity["cluster"], wanted))
        activity = activity.filter(keep)
    n = activity.num_rows
    columns = {name: activity[name] for name in TIMELINE.names if name in ACTIVITY}
    columns.update(person=pa.nulls(n, pa.string()), matched_by=pa.nulls(n, pa.string()),
                   layer=_layers(activity["source"]))
    table = pa.table({name: columns[name] for name in TIMELINE.names}, schema=TIMELINE.arrow)
    for name in extra:
        table = table.append_column(activity.schema.field(name), activity[name])
    if person is not None and n:
        # by any identity the row stands for: the person it is tied to is one of them
        asked = identity(person, aliases)[0]
        table = table.filter(_per_row(table, lambda t: t[0] == person or any(
            k in (asked, person) for k, _ in _keys(t[0], t[1], aliases)), pa.bool_()))
    return table


def known_identities(rows: pa.Table, aliases: Mapping[str, str] | None = None) -> Known:
    """What ``rows`` (:func:`timeline_rows`, before a person filter) know of identities: a
    fact per identity, layer and form, as few as the distinct actors."""
    return frozenset((who, lay, form) for actor, actor_id, lay in _distinct(rows)
                     for who, form in _keys(actor, actor_id, aliases))


def resolve(rows: pa.Table, known: Known, aliases: Mapping[str, str] | None = None) -> pa.Table:
    """``rows`` with ``person`` and ``matched_by`` worked out from ``known`` (the union of
    every part's :func:`known_identities`): each row under the identity another layer also
    logs, by the strongest link, else under its own actor, ``unmatched``."""
    forms: dict[str, dict[str, set[str]]] = {}  # identity → layer → forms
    for who, lay, form in known:
        forms.setdefault(who, {}).setdefault(lay, set()).add(form)

    def tie(actor: str | None, actor_id: str | None, lay: str) -> tuple[str | None, str]:
        best: tuple[int, str, str] | None = None
        for who, form in _keys(actor, actor_id, aliases):
            for other, fs in forms.get(who, {}).items():
                if other == lay:
                    continue
                for f in fs:
                    link = _link(form, f)
                    candidate = (_RULE_RANK[link], who, link)
                    best = candidate if best is None or candidate < best else best
        return (actor, "unmatched") if best is None else (best[1], best[2])

    triples, where = _triples(rows)
    ties = [tie(*t) for t in triples]
    rows_of = pa.array(where)
    names = rows.schema.names
    rows = rows.set_column(names.index("person"), "person",
                           pa.array([p for p, _ in ties], pa.string()).take(rows_of))
    return rows.set_column(names.index("matched_by"), "matched_by",
                           pa.array([m for _, m in ties], pa.string()).take(rows_of))


def timeline(
    activity: pa.Table,
    *,
    cluster: str | Collection[str] | None = None,
    person: str | None = None,
    aliases: Mapping[str, str] | None = None,
) -> pa.Table:
    """The ``timeline`` table of activity rows (:func:`auditlens.activity`): every layer's rows
    of each person on one timeline, sorted by person, then time (then service, API, node, then
    the activity table's order).

    ``cluster``: a cluster's name or id, or several (its name and its id: the service layer may
    name it either way). Rows known to be of another cluster are left out; rows that do not say
    their cluster are kept — node rows never do, API rows only when read with a cluster name,
    account-level service events (logins) never — so read one cluster's logs together.
    ``person``: one person's rows, named in any of the forms above (``IAM#alice@example.com``,
    ``alice@example.com``, ``alice`` when an alias or the name itself says so).
    ``aliases``: name as logged → person, the caller's word for ties the logs cannot make.
    """
    every = timeline_rows(activity.select(ACTIVITY.names), cluster=cluster, aliases=aliases)
    known = known_identities(every, aliases)
    chosen = every if person is None else timeline_rows(
        activity.select(ACTIVITY.names), cluster=cluster, person=person, aliases=aliases)
    table = resolve(chosen, known, aliases)
    rank = pc.index_in(table["layer"], pa.array(list(_LAYER_RANK)))
    order = pc.sort_indices(
        pa.table({"person": table["person"], "time": table["time"], "rank": rank,
                  "row": pa.array(range(table.num_rows), pa.int64())}),
        [("person", "ascending"), ("time", "ascending"), ("rank", "ascending"),
         ("row", "ascending")])  # nulls (rows without an actor) last
    return table.take(order)
