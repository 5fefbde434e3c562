"""Access review speed: the review of a large Kubernetes audit log against a few thousand RBAC
rules, against the time to read the same log in the same run.

The policy: the roles ``auditlens rbac generate`` makes for every subject of the log (without
name, namespace or verb widening, so more rules), plus synthetic Roles and ClusterRoles (real
resource names, some with resourceNames, some through groups everyone is in) until the policy
has ``--rules`` rules. Each step is timed once per round, in one process; the medians are
printed as a Markdown table for docs/benchmarks.md.

Usage: python benchmarks/rbac.py [K8S_LOG] [--rules 3000] [--rounds 3]
(K8S_LOG defaults to benchmarks/.data/k8s.jsonl, made by make_inputs.py.)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time
from pathlib import Path

import pyarrow.compute as pc

import auditlens
from auditlens.rbac import GenerateOptions, Policy, generate_rbac, rbac_requests, review_access
from auditlens.rbac.model import Binding, PolicyRule, Role, Subject

HERE = Path(__file__).resolve().parent
RESOURCES = [("", "pods"), ("", "secrets"), ("", "configmaps"), ("", "services"), ("apps", "deployments"),
             ("apps", "statefulsets"), ("batch", "jobs"), ("", "nodes"), ("", "namespaces"),
             ("rbac.authorization.k8s.io", "roles"), ("networking.k8s.io", "ingresses"), ("", "pods/exec"),
             ("", "pods/log"), ("", "serviceaccounts"), ("coordination.k8s.io", "leases")]
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]


def policy_for(requests, rules: int) -> Policy:  # type: ignore[no-untyped-def]
    """The generated roles of every subject, topped up with synthetic ones to ``rules`` rules."""
    strict = GenerateOptions(expand_names=False, expand_namespaces=False, verb_expansions={})
    policy = Policy()
    for g in generate_rbac(requests, options=strict):
        policy.extend(g.policy())
    subjects = sorted(set(requests["subject"].to_pylist()))
    rng = random.Random(0)
    count = sum(len(r.rules) for r in policy.roles)
    i = 0
    while count < rules:
        ns = None if i % 5 == 0 else f"ns-{i % 40}"
        picked = [PolicyRule(verbs=tuple(rng.sample(VERBS, rng.randint(1, 3))), api_groups=(group,),
                             resources=(res,),
                             resource_names=(f"obj-{rng.randint(0, 99)}",) if rng.random() < 0.3 else ())
                  for group, res in rng.sample(RESOURCES, 5)]
        kind = "ClusterRole" if ns is None else "Role"
        policy.roles.append(Role(kind, f"synthetic-{i}", ns, tuple(picked)))
        who = Subject("Group", "system:authenticated") if i % 10 == 0 else \
            (Subject("User", rng.choice(subjects)) if subjects else Subject("User", "nobody"))
        policy.bindings.append(Binding(kind + "Binding", f"synthetic-{i}", ns, kind, f"synthetic-{i}", (who,)))
        count += len(picked)
        i += 1
    return policy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("log", nargs="?", default=str(HERE / ".data" / "k8s.jsonl"))
    ap.add_argument("--rules", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    size = os.path.getsize(args.log)
    times: dict[str, list[float]] = {"read": [], "requests": [], "review": []}
    for _ in range(args.rounds):
        t0 = time.perf_counter()
        events = auditlens.read_k8s_audit(args.log, keep_objects=False)
        t1 = time.perf_counter()
        requests = rbac_requests(events)
        t2 = time.perf_counter()
        policy = policy_for(requests, args.rules)
        t3 = time.perf_counter()
        review = review_access(requests, policy)
        t4 = time.perf_counter()
        times["read"].append(t1 - t0)
        times["requests"].append(t2 - t1)
        times["review"].append(t4 - t3)
        del events
    rules = sum(len(r.rules) for r in policy.roles)
    grants = review.rows.filter(pc.is_valid(review.rows["binding"])).num_rows
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"log {args.log}: {size / 1e6:.0f} MB, {requests.num_rows} requests, "
          f"{len(set(requests['subject'].to_pylist()))} subjects; policy {len(policy.roles)} roles, "
          f"{rules} rules, {grants} subject-grant rows; {args.rounds} rounds, medians")
    print("| step | median s | ÷ read | runs (s) |")
    print("|---|---:|---:|---|")
    for name, label in (("read", "`read_k8s_audit` (keep_objects=False)"),
                        ("requests", "`rbac_requests` (one row per auditID)"), ("review", "`review_access`")):
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"| {label} | {med[name]:.2f} | {med[name] / med['read']:.2f} | {runs} |")
    both = [a + b for a, b in zip(times["requests"], times["review"])]
    ratios = ", ".join(f"{(a + b) / r:.2f}" for a, b, r in zip(times["requests"], times["review"], times["read"]))
    print(f"| requests + review | {statistics.median(both):.2f} | "
          f"**{statistics.median(both) / med['read']:.2f}** | per round ÷ read: {ratios} |")


if __name__ == "__main__":
    main()
