"""The unified who-did-what table behind ``auditlens.activity``: one row per action, the same
vocabulary for node and API.

auditd: one row per event. The actor is the login user (``auid``), which survives ``sudo`` and
``su``; only events that no login session caused (daemons, boot) fall back to the process user,
and login attempts (where no ``auid`` exists yet) to the account being logged into.

Kubernetes: one row per request (``auditID``), taken from its most final stage: ResponseComplete
or Panic, else ResponseStarted (a watch or exec still open when the log ends), else
RequestReceived (shown with no outcome: the audit-trail report lists those). The actor is the
authenticated user; an impersonated user is ``acting_as``. OpenShift oauth-server logins carry
the user logging in in an annotation, which becomes the actor.

Cloud (service) events: one row per event. The actor is the accountable person: the one the
event names behind the caller (``acting_for``: who authenticated for a service, who assumed a
role), else the caller; the caller is then ``acting_as``. A user is ``human``, a service id,
service or role ``service-account`` unless a named person stands behind it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .auditd.ancestry import with_ancestry
from .auditd.objects import name_objects
from .schema import ACTIVITY, AUDITD_EVENTS, CLOUD_EVENTS, K8S_EVENTS

_STR = pa.string()
_DENIED_ERRNO = ["EACCES", "EPERM"]
_AUTHZ_TYPES = ["USER_ACCT", "USER_CMD", "USER_AVC", "AVC", "APPARMOR_DENIED", "SELINUX_ERR",
                "USER_SELINUX_ERR", "ANOM_ACCESS_FS"]
# records of logging in (before a session exists): the account named in them is who tries;
# password and account changes name the account changed, not the actor
_LOGIN_TYPES = ["USER_AUTH", "USER_ACCT", "USER_LOGIN", "USER_LOGOUT", "USER_START", "USER_END",
                "USER_ERR", "CRED_ACQ", "CRED_DISP", "CRED_REFR", "GRP_AUTH", "LOGIN",
                "ANOM_LOGIN_FAILURES", "ANOM_LOGIN_ACCT"]
_STAGE_RANK = {"ResponseComplete": 4, "Panic": 4, "ResponseStarted": 3, None: 2, "RequestReceived": 1}
_OAUTH_USER = "authentication.openshift.io/username"
_OAUTH_DECISION = "authentication.openshift.io/decision"
_EKS_ARN = "arn"


def _nulls(n: int, type_: pa.DataType = _STR) -> pa.Array:
    return pa.nulls(n, type_)


def _text(value: str, n: int) -> pa.Array:
    return pa.array([value] * n, _STR)


def _when(mask: pa.ChunkedArray | pa.Array, value: pa.Array | str | None, other: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``value`` where ``mask`` is true, else ``other`` (a null mask counts as false)."""
    mask = pc.fill_null(mask, False)
    return pc.if_else(mask, pa.scalar(value, _STR) if value is None or isinstance(value, str) else value, other)


def _name_or_number(names: pa.ChunkedArray, numbers: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.coalesce(names, pc.cast(numbers, _STR))


UNKNOWN_VALUES = ("", "?", "(none)", "(null)")
"""What auditd logs for a value it does not have (userspace '?', the kernel's '(none)'/'(null)')."""


def _present(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Nulls for the values auditd logs when it has none."""
    unknown = pc.is_in(column, pa.array(UNKNOWN_VALUES))
    return pc.if_else(pc.fill_null(unknown, False), pa.scalar(None, _STR), column)


def _evidence(table: pa.Table, suffix_label: str, suffix: pa.ChunkedArray) -> pa.Array:
    where = pc.binary_join_element_wise(
        pc.fill_null(table["file"], "-"), pc.cast(pc.fill_null(table["line"], 0), _STR), ":"
    )
    tail = pc.binary_join_element_wise(pa.scalar(suffix_label, _STR), pc.cast(suffix, _STR), " ")
    return pc.binary_join_element_wise(where, pc.fill_null(tail, ""), " ")


def from_auditd(events: pa.Table) -> pa.Table:
    """Activity rows of an ``auditd_events`` table, one per event, in its order."""
    n = events.num_rows
    if n == 0:
        return ACTIVITY.arrow.empty_table()
    auid_set = pc.is_valid(events["auid"])
    login_kind = pc.is_in(events["event_type"], pa.array(_LOGIN_TYPES))
    login_acct = pc.and_(login_kind, pc.is_valid(events["acct"]))
    process_user = _name_or_number(events["uid_name"], events["uid"])
    actor = _when(auid_set, _name_or_number(events["auid_name"], events["auid"]),
                  _when(login_acct, events["acct"], process_user))
    actor_kind = _when(auid_set, "human", _when(login_acct, "human", _text("system", n)))
    actor_id = _when(auid_set, pc.cast(events["auid"], _STR),
                     _when(login_acct, None, pc.cast(events["uid"], _STR)))
    acting_as = _when(pc.is_valid(events["syscall"]), _name_or_number(events["euid_name"], events["euid"]),
                      _when(login_kind, events["acct"], process_user))

    executed = pc.and_(pc.equal(events["action"], "executed"), pc.greater(pc.list_value_length(events["argv"]), 0))
    command = pc.binary_join(events["argv"], " ")
    obj = _when(executed, command, _present(events["object_primary"]))
    obj, object_source = name_objects(events, obj)  # a file descriptor's object named too

    failed = pc.equal(events["result"], "failed")
    denied = pc.or_kleene(
        pc.is_in(events["errno"], pa.array(_DENIED_ERRNO)),
        pc.or_kleene(pc.equal(events["avc_result"], "denied"),
                     pc.and_kleene(failed, pc.is_in(events["event_type"], pa.array(_AUTHZ_TYPES)))),
    )
    outcome = _when(denied, "denied", _when(failed, "failure", _when(
        pc.equal(events["result"], "success"), "success", _nulls(n))))
    avc = pc.binary_join_element_wise(
        pc.binary_join_element_wise("selinux", events["avc_result"], pc.binary_join(events["avc_permissions"], " "), " "),
        pc.fill_null(events["tclass"], ""), " on ")
    reason = pc.coalesce(events["errno"], avc, events["apparmor_profile"])
    origin = pc.coalesce(_present(events["addr"]), _present(events["hostname"]), _present(events["terminal"]))

    columns = {
        "time": events["time"],
        "source": _text("auditd", n),
        "cluster": _nulls(n),
        "node": events["node"],
        "actor": actor,
        "actor_id": actor_id,
        "actor_kind": actor_kind,
        "acting_as": acting_as,
        "action": events["action"],
        "object": obj,
        "object_kind": events["object_kind"],
        "namespace": _nulls(n),
        "outcome": outcome,
        "reason": reason,
        "origin": origin,
        "key": events["key"],
        "session": events["session"],
        "latency_ms": _nulls(n, pa.float64()),
        "evidence": _evidence(events, "serial", events["serial"]),
        "object_source": object_source,
        "ancestry": _ancestry(events),
    }
    return pa.table(columns, schema=ACTIVITY.arrow)


def _ancestry(events: pa.Table) -> pa.ChunkedArray | pa.Array:
    """The events' ``ancestry`` column when it was worked out (over the whole read: a part of
    it would show shorter chains), else nulls."""
    if "ancestry" in events.column_names:
        return events["ancestry"]
    return _nulls(events.num_rows, ACTIVITY["ancestry"].type)


def request_rows(k8s: pa.Table) -> pa.Table:
    """One row per request: the most final stage logged for each auditID (the first such row on
    a tie), in log order; rows without an auditID all kept. Worked out with Arrow and NumPy, not
    a Python loop over every row (a large log holds hundreds of thousands of requests): nothing
    to do when every auditID is logged once (a policy that omits RequestReceived), else a sort
    of integer codes."""
    n = k8s.num_rows
    if n == 0 or pc.count_distinct(k8s["audit_id"], mode="all").as_py() == n:
        return k8s
    names = pa.array([s for s in _STAGE_RANK if s is not None])
    ranks = pa.array([r for s, r in _STAGE_RANK.items() if s is not None], pa.int64())
    rank = pc.fill_null(pc.take(ranks, pc.index_in(k8s["stage"], names)), _STAGE_RANK[None])
    codes = pc.dictionary_encode(k8s["audit_id"].combine_chunks()).indices
    code = pc.fill_null(codes, -1).to_numpy(zero_copy_only=False)
    row = np.arange(n, dtype=np.int64)
    order = np.lexsort((row, -rank.to_numpy(), code))  # by code, then rank descending, then row
    sorted_code = code[order]
    first = np.ones(n, dtype=bool)
    first[1:] = sorted_code[1:] != sorted_code[:-1]
    first |= sorted_code == -1  # no auditID: every such row is a request of its own
    return k8s.take(pa.array(np.sort(order[first]), pa.int64()))


def _actor_kind(user: pa.ChunkedArray) -> pa.Array:
    n = len(user)
    return _when(pc.starts_with(user, "system:serviceaccount:"), "service-account",
                 _when(pc.equal(user, "system:anonymous"), "anonymous",
                       _when(pc.starts_with(user, "system:"), "system",
                             _when(pc.is_null(user), "anonymous", _text("human", n)))))


def _first(lists: pa.ChunkedArray) -> pa.Array:
    return pa.array([v[0] if v else None for v in lists.to_pylist()], _STR)


def from_k8s(k8s: pa.Table) -> pa.Table:
    """Activity rows of a ``k8s_events`` table: requests collapsed to one row per auditID."""
    req = request_rows(k8s)
    n = req.num_rows
    if n == 0:
        return ACTIVITY.arrow.empty_table()
    oauth_user = pc.map_lookup(req["annotations"], pa.scalar(_OAUTH_USER), "first")
    oauth_decision = pc.map_lookup(req["annotations"], pa.scalar(_OAUTH_DECISION), "first")
    actor = pc.coalesce(oauth_user, req["user"])
    actor_kind = _when(pc.is_valid(oauth_user), "human", _actor_kind(req["user"]))
    # EKS names the AWS principal behind a request in user.extra (aws-iam-authenticator, access
    # entries): its ARN is what CloudTrail logs for the same principal
    arn = pc.list_element(pc.fill_null(pc.map_lookup(req["user_extra"], pa.scalar(_EKS_ARN), "first"),
                                       pa.scalar([""], pa.list_(_STR))), 0)
    arn = _when(pc.equal(arn, ""), None, arn)
    actor_id = _when(pc.is_valid(oauth_user), None, pc.coalesce(arn, req["user_uid"]))

    code = req["response_code"]
    forbidden = pc.or_kleene(pc.equal(req["decision"], "forbid"), pc.is_in(code, pa.array([401, 403], pa.int32())))
    forbidden = pc.or_kleene(forbidden, pc.is_in(oauth_decision, pa.array(["deny"])))
    failed = pc.or_kleene(pc.equal(req["stage"], "Panic"), pc.greater_equal(code, 400))
    failed = pc.or_kleene(failed, pc.equal(oauth_decision, "error"))
    outcome = _when(forbidden, "denied", _when(failed, "failure", _when(
        pc.is_valid(code), "success", _nulls(n))))
    unsuccessful = pc.is_in(outcome, pa.array(["denied", "failure"]))
    reason = _when(unsuccessful, pc.coalesce(req["response_message"], req["response_reason"], req["reason"]),
                   req["reason"])
    reason = _when(pc.is_null(outcome), "no response stage logged for this request", reason)

    named = pc.binary_join_element_wise(req["namespace"], req["name"], "/")
    path = pc.replace_substring_regex(req["request_uri"], r"\?.*$", "")
    obj = pc.coalesce(named, req["name"], path)
    kind = pc.coalesce(pc.binary_join_element_wise(req["resource"], req["subresource"], "/"),
                       req["resource"],
                       _when(pc.is_valid(req["request_uri"]), "non-resource-url", _nulls(n)))
    latency = pc.divide(pc.cast(pc.cast(req["latency"], pa.int64()), pa.float64()), 1000.0)
    received = pc.coalesce(req["request_received"], req["time"])

    columns = {
        "time": received,
        "source": _text("k8s", n),
        "cluster": req["cluster"],
        "node": _nulls(n),
        "actor": actor,
        "actor_id": actor_id,
        "actor_kind": actor_kind,
        "acting_as": req["impersonated_user"],
        "action": req["verb"],
        "object": obj,
        "object_kind": kind,
        "namespace": req["namespace"],
        "outcome": outcome,
        "reason": reason,
        "origin": _first(req["source_ips"]),
        "key": _nulls(n),
        "session": _nulls(n, pa.int64()),
        "latency_ms": latency,
        "evidence": _evidence(req, "auditID", req["audit_id"]),
        "object_source": _nulls(n),
        "ancestry": _nulls(n, ACTIVITY["ancestry"].type),
    }
    return pa.table(columns, schema=ACTIVITY.arrow)


CLOUD_HUMAN_KINDS = ("user",)
"""``cloud_events.actor_kind`` values that are a person (service-id, service, role: not)."""


def from_cloud(cloud: pa.Table) -> pa.Table:
    """Activity rows of a ``cloud_events`` table, one per service event, in its order."""
    n = cloud.num_rows
    if n == 0:
        return ACTIVITY.arrow.empty_table()
    behind = pc.is_valid(cloud["acting_for"])
    actor = pc.coalesce(cloud["acting_for"], cloud["actor"])
    kind = cloud["actor_kind"]
    human = pc.or_(pc.fill_null(pc.is_in(kind, pa.array(CLOUD_HUMAN_KINDS)), False),
                   pc.fill_null(behind, False))
    actor_kind = _when(human, "human", _when(pc.is_null(actor), "anonymous",
                                             _text("service-account", n)))
    acting_as = _when(behind, cloud["actor"], _nulls(n))
    where = pc.binary_join_element_wise(
        pc.fill_null(cloud["file"], "-"), pc.cast(pc.fill_null(cloud["line"], 0), _STR), ":")
    tail = pc.binary_join_element_wise(pa.scalar("correlationId", _STR), cloud["correlation_id"], " ")
    evidence = pc.binary_join_element_wise(where, pc.fill_null(cloud["provider"], "-"),
                                           pc.fill_null(tail, ""), " ")
    evidence = pc.utf8_rtrim_whitespace(evidence)
    columns = {
        "time": cloud["time"],
        "source": _text("cloud", n),
        "cluster": cloud["cluster"],
        "node": _nulls(n),
        "actor": actor,
        "actor_id": cloud["actor_id"],
        "actor_kind": actor_kind,
        "acting_as": acting_as,
        "action": cloud["action"],
        "object": cloud["target"],
        "object_kind": cloud["target_kind"],
        "namespace": _nulls(n),
        "outcome": cloud["outcome"],
        "reason": pc.coalesce(cloud["reason"], cloud["reason_code"]),
        "origin": cloud["origin"],
        "key": _nulls(n),
        "session": _nulls(n, pa.int64()),
        "latency_ms": _nulls(n, pa.float64()),
        "evidence": evidence,
        "object_source": _nulls(n),
        "ancestry": _nulls(n, ACTIVITY["ancestry"].type),
    }
    return pa.table(columns, schema=ACTIVITY.arrow)


def activity(
    sources: str | Iterable[str] | None = None,
    *,
    auditd: pa.Table | None = None,
    k8s: pa.Table | None = None,
    cloud: pa.Table | None = None,
    cluster: str | None = None,
    jobs: int = 1,
) -> pa.Table:
    """One row per action from auditd events, Kubernetes requests and service (cloud) events,
    sorted by time.

    Give ``sources`` (files, node directories, globs: each file routed by its content, a node's
    ``etc/passwd``/``etc/group`` used for its uids) or tables already read with
    :func:`auditlens.read_auditd` / :func:`auditlens.read_k8s_audit` / ``read_cloud_audit``. ``jobs``: worker
    processes for reading ``sources`` (0: one per CPU), same result. The auditd rows' ancestry
    is the table's own ``ancestry`` column, else worked out over the whole table, node by node.
    """
    if sources is not None:
        from .collect import collect

        got = collect([sources] if isinstance(sources, str) else sources, cluster=cluster,
                      jobs=jobs)
        if got.skipped:  # nothing left out without a word
            shown = ", ".join(got.skipped[:5]) + (" …" if len(got.skipped) > 5 else "")
            warnings.warn(f"skipped {len(got.skipped)} file(s) that are not audit logs: {shown}",
                          stacklevel=2)
        auditd = got.auditd if auditd is None else pa.concat_tables([auditd, got.auditd])
        k8s = got.k8s if k8s is None else pa.concat_tables([k8s, got.k8s])
        cloud = got.cloud if cloud is None else pa.concat_tables([cloud, got.cloud])
    parts = []
    if auditd is not None:
        events = auditd.select(AUDITD_EVENTS.names)
        events = (events.append_column("ancestry", auditd["ancestry"])
                  if "ancestry" in auditd.column_names else with_ancestry(events))
        parts.append(from_auditd(events))
    if k8s is not None:
        parts.append(from_k8s(k8s.select(K8S_EVENTS.names)))
    if cloud is not None:
        parts.append(from_cloud(cloud.select(CLOUD_EVENTS.names)))
    if not parts:
        return ACTIVITY.arrow.empty_table()
    table = pa.concat_tables(parts)
    return table.take(pc.sort_indices(table, [("time", "ascending")]))
