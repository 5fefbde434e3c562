# %% [markdown]
# # Fleet compliance: many nodes and the cluster's API log
#
# A collector copies each node's audit directory (`var/log/audit/`, rotated and compressed
# files) and its `etc/passwd`/`etc/group`, and the API server's audit log. From that:
#
# 1. one Arrow table per source, then the unified **activity** table (who did what, on which
#    node or cluster, with which outcome, and where the evidence is);
# 2. the **gap check**: is any node's trail missing events?
# 3. pandas and DuckDB over the same tables, without copies;
# 4. the **compliance** export (XLSX and HTML) an auditor receives.

# %%
import tempfile
from pathlib import Path

import duckdb
import matplotlib.pyplot as plt
import pandas as pd
import pyarrow as pa

import auditlens

pd.set_option("display.max_colwidth", 60)
pd.set_option("display.width", 160)

fleet = Path("../sample_logs/auditd")
nodes = sorted(p for p in fleet.glob("node-*") if (p / "var/log/audit").is_dir())
api_log = Path("../sample_logs/k8s")
[n.name for n in nodes]

# %% [markdown]
# ## One table per source
#
# Each node is read with its own `passwd`/`group` (uids mean different people on different
# hosts). Lines that cannot be read are collected, never dropped silently.

# %%
rejects = auditlens.RejectLog()
events = pa.concat_tables(
    auditlens.read_auditd(n / "var/log/audit", passwd=n / "etc/passwd", group=n / "etc/group",
                          rejects=rejects)
    for n in nodes
)
api = auditlens.read_k8s_audit(api_log, cluster="lab", rejects=rejects)
print(f"auditd: {events.num_rows} events; k8s: {api.num_rows} Events; {len(rejects)} lines rejected")
events.group_by("node").aggregate([("serial", "count"), ("time", "min"), ("time", "max")]).to_pandas()

# %% [markdown]
# ## The activity table
#
# One row per action from either source, in one vocabulary: `actor` is the accountable person
# (the login user on a node, even after `sudo`; the authenticated user on the API), `acting_as`
# the identity it ran as, `evidence` the file and line or the `auditID`.

# %%
who = auditlens.activity(auditd=events, k8s=api, cluster="lab")
activity = who.to_pandas()
print(who.num_rows, "actions")
activity.groupby(["source", "actor_kind", "outcome"], dropna=False).size().unstack(fill_value=0)

# %%
people = activity[activity.actor_kind == "human"]
per_node = (people.assign(where=people.node.fillna("API " + people.cluster.fillna("")))
            .groupby(["actor", "where"]).size().unstack(fill_value=0))
ax = per_node.plot.barh(stacked=True, figsize=(8, 3), title="Actions by people, per node / cluster")
ax.set_xlabel("actions")
plt.tight_layout()
plt.show()

# %%
failures = activity[activity.outcome.isin(["failure", "denied"])]
failures.groupby(["source", "actor", "outcome"]).size().sort_values(ascending=False).head(10)

# %% [markdown]
# ## One person across the layers
#
# The `timeline` report puts a person's service events (what they did through the cloud
# provider), API requests and node events on one timeline, tied by identity where the logs allow
# it: `matched_by` says how (`IAM#email`, `email`, `arn`, `same-name`) or that nothing tied the
# row (`unmatched`, under its own actor). It is built node by node like the other reports, so it
# works for a fleet as for these two nodes. The service events name the sample cluster `demo`.
# Here the nodes' login `alice` and the API's `alice` are the same name; the service layer's
# `alice@example.com` is hers only when you say so (next cell).

# %%
layers = [str(n) for n in nodes] + [str(api_log), "../sample_logs/cloud"]
with auditlens.run_report("timeline", layers, cluster="demo", user="alice") as out:
    alice = out.table.to_pandas()
print(alice.groupby(["layer", "matched_by"]).size().to_dict())
alice[alice.time.between("2026-11-28 20:10:40Z", "2026-11-28 20:12:45Z")][
    ["time", "layer", "node", "actor", "acting_as", "action", "object", "outcome"]].head(15)

# %%
from auditlens.reports.timeline import timeline

every_layer = auditlens.activity(layers, cluster="demo")
stated = timeline(every_layer, cluster="demo", person="alice", aliases={"alice": "alice@example.com"})
stated.to_pandas().groupby(["layer", "matched_by"]).size()

# %% [markdown]
# ## Gaps check
#
# The kernel numbers events consecutively per boot; a jump in one node's serials means events
# are missing. auditd's own `DAEMON_*` records have their own numbering and are left out.
# `sample_logs/auditd/gap/` is node-a's oldest file with 25 events cut out.

# %%
def serial_holes(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas()
    kernel = df[~df.event_type.str.startswith("DAEMON_")].sort_values(["node", "time", "serial"])
    prev = kernel.groupby("node").serial.shift()
    kernel = kernel.assign(last_before=prev, missing=kernel.serial - prev - 1)
    return kernel[kernel.missing > 0][["node", "last_before", "serial", "missing", "time", "file", "line"]]


print("fleet:", "no holes" if serial_holes(events).empty else serial_holes(events))
cut = auditlens.read_auditd(fleet / "gap/var/log/audit")
serial_holes(cut)

# %% [markdown]
# The `audit-trail` report does this check and more (daemon stops, rotations, requests that
# never completed) and is part of the compliance export:

# %%
trail = auditlens.run_report("audit-trail", str(fleet / "gap")).table.to_pandas()
print(trail.finding.value_counts().to_string())
trail[trail.finding == "serial-gap"][["node", "first_missing", "last_missing", "missing_count",
                                      "gap_start", "gap_end", "evidence"]]

# %% [markdown]
# ## pandas and DuckDB over the same tables
#
# DuckDB queries the Arrow tables in place (`events`, `api`, `who` are Python variables).
# Who appears both on the nodes and on the API, and what did they do in each?

# %%
duckdb.sql("""
    SELECT actor,
           count(*) FILTER (WHERE source = 'auditd') AS node_actions,
           count(*) FILTER (WHERE source = 'k8s') AS api_actions,
           count(*) FILTER (WHERE outcome <> 'success') AS not_successful,
           list(DISTINCT coalesce(node, 'API')) AS seen_on
    FROM who
    WHERE actor_kind = 'human'
    GROUP BY actor
    HAVING node_actions > 0 AND api_actions > 0
    ORDER BY actor
""").df()

# %% [markdown]
# The same answer in pandas:

# %%
both = people.pivot_table(index="actor", columns="source", values="time", aggfunc="count", fill_value=0)
both[(both.get("auditd", 0) > 0) & (both.get("k8s", 0) > 0)]

# %% [markdown]
# ## The compliance export
#
# `compliance` runs every report over the same inputs and writes one file: a cover sheet (what
# was read, the time range, rejected lines, gaps) and one section per report with the
# requirement it answers.

# %%
sources = [str(n) for n in nodes] + [str(api_log)]
compliance = auditlens.run_report("compliance", sources, cluster="lab")
pd.DataFrame(
    [(s.name, s.requirement, s.table.num_rows) for s in compliance.sections],
    columns=["section", "requirement", "rows"],
)

# %%
out = Path(tempfile.mkdtemp(prefix="auditlens-"))
compliance.write(out / "compliance.xlsx", "xlsx")
compliance.write(out / "compliance.html", "html")
{p.name: p.stat().st_size for p in sorted(out.iterdir())}
