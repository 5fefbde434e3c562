"""``auditlens serve``: a Kubernetes audit-webhook receiver that answers 200 only once a batch
is on disk.

The pieces, lowest first (each testable without the network):

- :mod:`.batch`: a request body (EventList v1/v1beta1 or one Event) → the events' JSON lines
  and the batch's identity (a digest of its events' (auditID, stage, stageTimestamp)).
- :mod:`.journal`: the commit journal: checksummed records of what is durable.
- :mod:`.store`: the durable store: group commit, dedup, recovery, rotation, retention,
  quarantine and the per-source state the audit-trail report reads.
- :mod:`.metrics`: counters and their Prometheus text.
- :mod:`.config`: options, listen address, TLS context, who may send.
- :mod:`.app`: the aiohttp application (imported only by ``auditlens serve``: ``import
  auditlens`` and the readers never need aiohttp).
- :mod:`.parquet`: closed files copied into the Parquet dataset layout of ``parse --partition``.
- :mod:`.kubeconfig`: the webhook kubeconfig that points an apiserver here.
"""
