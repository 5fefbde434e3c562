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
Everything is worked out from the activity table alone: the service layer's stable ids
(``IBMid-…``, an Azure object id beside the UPN, EKS's ``user.extra`` ARN) are not in it, so a
service event logged with an id only stays ``unmatched``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from ..schema import ACTIVITY, TIMELINE

__all__ = ["LAYERS", "identity", "timeline"]

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


def _layers(source: pa.ChunkedArray) -> pa.Array:
    unknown = set(pc.unique(source).to_pylist()) - set(LAYERS) - {None}
    if unknown or source.null_count:
        shown = ", ".join(sorted(map(str, unknown))) or "null"
        raise ValueError(f"timeline: activity rows of unknown source {shown} "
                         f"(known: {', '.join(LAYERS)})")
    return pc.take(pa.array(list(LAYERS.values())),
                   pc.index_in(source, pa.array(list(LAYERS))))


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
    activity = activity.select(ACTIVITY.names)
    if cluster is not None:
        wanted = pa.array([cluster] if isinstance(cluster, str) else list(cluster), pa.string())
        keep = pc.or_(pc.is_null(activity["cluster"]), pc.is_in(activity["cluster"], wanted))
        activity = activity.filter(keep)
    layer = _layers(activity["source"])
    actors = activity["actor"].to_pylist()
    layers = layer.to_pylist()

    identities = {a: identity(a, aliases) for a in set(actors)}
    forms: dict[str, dict[str, set[str]]] = {}  # person → layer → forms
    for actor, lay in set(zip(actors, layers)):
        who, form = identities[actor]
        if who is not None and form != "nobody":
            forms.setdefault(who, {}).setdefault(lay, set()).add(form)

    def tie(actor: str | None, lay: str) -> tuple[str | None, str]:
        who, form = identities[actor]
        if who is None or form == "nobody":
            return actor, "unmatched"
        others = [f for other, fs in forms[who].items() if other != lay for f in fs]
        if not others:
            return actor, "unmatched"
        return who, min((_link(form, o) for o in others), key=_RULE_RANK.__getitem__)

    ties = {key: tie(*key) for key in set(zip(actors, layers))}
    persons = [ties[k][0] for k in zip(actors, layers)]
    matched = [ties[k][1] for k in zip(actors, layers)]

    table = pa.table({
        "person": pa.array(persons, pa.string()),
        "matched_by": pa.array(matched, pa.string()),
        "time": activity["time"],
        "layer": layer,
        "source": activity["source"],
        "cluster": activity["cluster"],
        "node": activity["node"],
        "actor": activity["actor"],
        "acting_as": activity["acting_as"],
        "action": activity["action"],
        "object": activity["object"],
        "outcome": activity["outcome"],
        "origin": activity["origin"],
        "evidence": activity["evidence"],
    }, schema=TIMELINE.arrow)
    if person is not None:  # by the unified identity, also of rows no other layer ties
        asked = identity(person, aliases)[0]
        keep = [p == person or identities[a][0] == asked for p, a in zip(persons, actors)]
        table = table.filter(pa.array(keep, pa.bool_()))
    rank = pc.index_in(table["layer"], pa.array(list(_LAYER_RANK)))
    order = pc.sort_indices(
        pa.table({"person": table["person"], "time": table["time"], "rank": rank,
                  "row": pa.array(range(table.num_rows), pa.int64())}),
        [("person", "ascending"), ("time", "ascending"), ("rank", "ascending"),
         ("row", "ascending")])  # nulls (rows without an actor) last
    return table.take(order)
