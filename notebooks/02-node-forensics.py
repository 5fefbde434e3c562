# %% [markdown]
# # Node forensics: SSH sessions on one node
#
# What happened on `node-a`: who logged in from where, every command of each session
# including what ran through `sudo`, the failed logins, the denied file accesses, and the
# process tree behind it. All from the `auditd_events` table of `auditlens.read_auditd`.
#
# `node-a` writes RAW logs, which carry user ids; the node's `etc/passwd` and `etc/group`
# (copied with the logs) name them.

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import display

import auditlens

pd.set_option("display.max_colwidth", 70)
pd.set_option("display.width", 160)

node = "../sample_logs/auditd/node-a"
rejects = auditlens.RejectLog()
events = auditlens.read_auditd(f"{node}/var/log/audit/", passwd=f"{node}/etc/passwd",
                               group=f"{node}/etc/group", rejects=rejects)
df = events.to_pandas()
print(f"{len(df)} events from {df.record_count.sum()} records in {df.file.nunique()} files, "
      f"{len(rejects)} lines rejected")
df.event_type.value_counts().head(12)

# %% [markdown]
# ## Who logged in, from where
#
# sshd writes `USER_LOGIN` for sessions with a terminal; every session, with or without a
# terminal, gets `USER_START` and `USER_END` from PAM with the login session id (`session`,
# auditd's `ses`). The session id ties everything below together.

# %%
pam = df[df.event_type.isin(["USER_START", "USER_END"]) & (df.exe == "/usr/sbin/sshd") & df.session.notna()]
sessions = pam.groupby("session").agg(
    user=("auid_name", "first"), addr=("addr", "first"),
    start=("time", "min"), end=("time", "max"),
)
logins = df[(df.event_type == "USER_LOGIN") & (df.result == "success")].set_index("session")
sessions["terminal"] = logins.terminal.reindex(sessions.index)
sessions["events"] = df.groupby("session").size().reindex(sessions.index)
display(sessions)

# %% [markdown]
# ## Failed logins
#
# One `USER_AUTH` with `res=failed` per wrong password (with the account tried, even one that
# does not exist); `USER_LOGIN` failures are sshd's own view, several per attempt for an
# unknown user.

# %%
failed = df[(df.event_type == "USER_AUTH") & (df.result == "failed")]
failed[["time", "acct", "addr", "terminal", "exe", "session"]]

# %% [markdown]
# ## Everything a session did
#
# Take alice's first session. `USER_CMD` records are what `sudo` was asked to run;
# `execve` events (rule key `exec`) are every program that started, as whom (`euid_name`).

# %%
first = sessions[sessions.user == "alice"].index[0]
s = df[df.session == first]
timeline = s.assign(
    what=s.cmd.where(s.event_type == "USER_CMD",
                     s.argv.map(lambda a: " ".join(a) if a is not None else None)),
)
commands = timeline[(timeline.event_type == "USER_CMD") | ((timeline.syscall == "execve") & timeline.success.fillna(False))]
commands[["time", "event_type", "pid", "ppid", "auid_name", "euid_name", "what", "result"]]

# %% [markdown]
# Activity of each session over time, by kind of event:

# %%
by_kind = df[df.session.notna()].assign(
    kind=lambda d: d.event_type.where(d.event_type != "SYSCALL", "SYSCALL " + d.key.fillna("(no key)"))
)
counts = by_kind.groupby(["session", "kind"]).size().unstack(fill_value=0)
ax = counts.plot.barh(stacked=True, figsize=(9, 3.5), title="Events per login session")
ax.set_xlabel("events")
ax.legend(fontsize=7, ncol=2, loc="lower right")
plt.tight_layout()
plt.show()

# %% [markdown]
# ## Denied access
#
# System calls that failed with `EACCES` or `EPERM`: somebody tried to read or write what they
# may not. The rule key tells which rule caught it (CIS `access`, `identity`,
# `audit-log-access`).

# %%
denied = df[df.errno.isin(["EACCES", "EPERM"])]
denied[["time", "session", "auid_name", "syscall", "errno", "object_primary", "key", "exe"]]

# %% [markdown]
# ## Process ancestry
#
# `pid` and `ppid` of the `execve` events give the process tree of a session. A process that
# forked but never called `execve` (sshd's session process, sudo's monitor) has no event of its
# own unless a rule watches `clone`/`fork`: such a parent shows as `[pid N]`.

# %%
execs = s[(s.syscall == "execve") & s.success.fillna(False)].drop_duplicates("pid", keep="last")
name = {r.pid: " ".join(r.argv) if r.argv is not None else r.exe for r in execs.itertuples()}
children: dict[int, list[int]] = {}
for r in execs.itertuples():
    children.setdefault(int(r.ppid), []).append(int(r.pid))
roots = sorted({int(p) for p in execs.ppid} - set(name))


def show(pid: int, depth: int = 0) -> None:
    label = name.get(pid, f"[pid {pid}]")
    print(f"{'    ' * depth}{pid:>6}  {label[:90]}")
    for child in sorted(children.get(pid, [])):
        if child != pid:
            show(child, depth + 1)


for root in roots:
    show(root)
