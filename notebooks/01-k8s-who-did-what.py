# %% [markdown]
# # Kubernetes API: who did what
#
# The questions an SRE or an auditor asks of an API server audit log, answered from the
# `k8s_events` table that `auditlens.read_k8s_audit` returns: who is talking to the cluster,
# who changed RBAC, who read Secrets, who opened a shell in a pod, what was refused and when,
# and who acted as someone else.
#
# The log is `sample_logs/k8s/`: a kube-apiserver log and an OpenShift oauth-server log.

# %%
import duckdb
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

import auditlens

pd.set_option("display.max_colwidth", 60)
pd.set_option("display.width", 160)

rejects = auditlens.RejectLog()
events = auditlens.read_k8s_audit("../sample_logs/k8s/", rejects=rejects)
print(f"{events.num_rows} Events, {len(rejects)} lines rejected")
events.schema.field("time"), events.num_columns

# %% [markdown]
# ## One row per request
#
# The API server logs a request once per **stage** (`RequestReceived`, `ResponseStarted` for
# long-running requests such as `watch` and `exec`, `ResponseComplete`). Counting Events counts
# stages; keep one row per `audit_id`, the last stage, to count requests.

# %%
df = events.to_pandas()
print(df.stage.value_counts().to_string())
requests = df.sort_values("time").drop_duplicates("audit_id", keep="last")
print(f"{len(df)} Events -> {len(requests)} requests")

# %% [markdown]
# ## Top actors
#
# Service accounts and system components make most of the traffic; people are the short tail.

# %%
kind = requests.user.map(
    lambda u: "service account" if u.startswith("system:serviceaccount:")
    else "anonymous" if u == "system:anonymous"
    else "system" if u.startswith("system:") else "person"
)
top = requests.assign(kind=kind).groupby(["user", "kind"]).size().sort_values()
ax = top.plot.barh(figsize=(8, 3.5), title="Requests per user")
ax.set_xlabel("requests")
ax.set_ylabel("")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## What changed in RBAC
#
# Writes to roles and bindings. At audit level `Request` or above the request body says what
# was granted to whom.

# %%
import json

rbac = requests[
    requests.resource.isin(["roles", "rolebindings", "clusterroles", "clusterrolebindings"])
    & requests.verb.isin(["create", "update", "patch", "delete", "deletecollection"])
].copy()


def grant(body):
    if not isinstance(body, str):
        return None
    obj = json.loads(body)
    subjects = ", ".join(f"{s['kind']}/{s['name']}" for s in obj.get("subjects") or [])
    return f"{obj['roleRef']['kind']}/{obj['roleRef']['name']} -> {subjects}"


rbac["grants"] = rbac.request_object.map(grant)
rbac[["time", "user", "verb", "resource", "namespace", "name", "grants", "response_code"]]

# %% [markdown]
# ## Who read Secrets
#
# A `list` or `watch` without a namespace reads every namespace's Secrets.

# %%
secrets = requests[(requests.resource == "secrets") & requests.verb.isin(["get", "list", "watch"])]
secrets[["time", "user", "impersonated_user", "verb", "namespace", "name", "response_code", "source_ips"]]

# %% [markdown]
# ## Shells in pods
#
# `exec`, `attach` and `portforward` are subresources of `pods`. An `exec` is a long-running
# request: its `ResponseStarted` stage marks the start, `ResponseComplete` the end, so the
# latency of the complete stage is how long the shell stayed open.

# %%
into_pods = df[df.subresource.isin(["exec", "attach", "portforward"])]
shells = into_pods.groupby("audit_id").agg(
    user=("user", "first"), namespace=("namespace", "first"), pod=("name", "first"),
    subresource=("subresource", "first"), started=("request_received", "min"), ended=("time", "max"),
)
shells["open_for"] = shells.ended - shells.started
display(shells)

# %% [markdown]
# ## Refused requests over time
#
# `401` is a failed authentication, `403` an authenticated request the authorizer refused.
# The `decision` and `reason` columns carry the authorizer's word.

# %%
refused = requests[requests.response_code.isin([401, 403])]
per_minute = (
    refused.set_index("time").groupby("response_code").resample("1min").size().unstack(0, fill_value=0)
)
per_minute.index = per_minute.index.strftime("%H:%M")
ax = per_minute.plot.bar(stacked=True, figsize=(8, 3), rot=0, title="Refused requests per minute")
ax.set_xlabel("time (UTC)")
plt.tight_layout()
plt.show()
refused[["time", "user", "impersonated_user", "verb", "resource", "namespace", "name", "response_code", "source_ips"]]

# %% [markdown]
# ## Impersonation
#
# `user` sent the request; `impersonated_user` is who it ran as. Both belong in a report.

# %%
requests[requests.impersonated_user.notna()][
    ["time", "user", "impersonated_user", "verb", "resource", "namespace", "response_code", "decision"]
]

# %% [markdown]
# ## The same questions in SQL
#
# DuckDB reads the Arrow table in place. Here: per user, how many requests, how many refused,
# and from which addresses (the last of `source_ips` is the address the API server saw).

# %%
duckdb.sql("""
    WITH requests AS (
        SELECT * FROM events
        QUALIFY row_number() OVER (PARTITION BY audit_id ORDER BY time DESC) = 1
    )
    SELECT "user", count(*) AS requests,
           count(*) FILTER (WHERE response_code IN (401, 403)) AS refused,
           list(DISTINCT source_ips[-1]) AS addresses
    FROM requests GROUP BY "user" ORDER BY requests DESC
""").df()

# %% [markdown]
# ## Least privilege: granted against used (PCI DSS 7.2.4/7.2.5)
#
# The log shows what each subject *used*; an RBAC export shows what it was *granted*
# (`kubectl get roles,clusterroles,rolebindings,clusterrolebindings -A -o yaml`). Here a small
# export is written inline as JSON; `auditlens.read_rbac` reads such files (YAML needs the
# `rbac` extra). `review_access` gives one row per subject and granted rule: **used** or
# **excess** (granted, never used in the window), plus **uncovered** (allowed in the log by no
# binding of the export) and **denied** requests.

# %%
import tempfile
from pathlib import Path


def cluster_role(name, rules):
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": name}, "rules": rules}


def bind(name, role, subject, namespace=None):
    kind = "RoleBinding" if namespace else "ClusterRoleBinding"
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [subject]}


export = {"apiVersion": "v1", "kind": "List", "items": [
    cluster_role("shop-viewer", [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
                                 {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]}]),
    cluster_role("shop-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
    cluster_role("secret-reader", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list", "watch"]}]),
    cluster_role("node-debug", [{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]},
                                {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]}]),
    bind("bob-view", "shop-viewer", {"kind": "User", "name": "bob"}, "shop"),
    bind("alice-admin", "shop-admin", {"kind": "User", "name": "alice"}, "shop"),
    bind("alice-secrets", "secret-reader", {"kind": "User", "name": "alice"}),
    bind("oncall-debug", "node-debug", {"kind": "Group", "name": "oncall"}),
]}
export_path = Path(tempfile.mkdtemp()) / "rbac-export.json"
export_path.write_text(json.dumps(export))

policy = auditlens.read_rbac(export_path)
review = auditlens.review_access(auditlens.rbac_requests(events), policy)
print(review.describe_window())
review.subjects.to_pandas()[["subject", "subject_kind", "requests", "denied", "uncovered",
                             "grants", "used", "excess", "sensitive_excess", "score"]]

# %% [markdown]
# The rows an auditor reads first: grants never used (sensitive ones above all), and what the
# export cannot explain. A one-day sample log is a short window: an unused grant here is a
# question for the owner, not proof.

# %%
rows = review.rows.to_pandas()
rows[rows.status.isin(["excess", "uncovered"])][
    ["subject", "status", "binding", "rule", "sensitive", "request_count", "note"]]

# %% [markdown]
# What bob needs, and no more: roles generated from his allowed requests (his 403s are listed,
# not granted), as `auditlens rbac generate --user bob` prints them.

# %%
from auditlens.rbac import to_yaml

print(to_yaml(auditlens.generate_rbac(auditlens.rbac_requests(events), subjects=["bob"])))
