"""Service-layer audit events: what people did to clusters through the cloud provider.

Each provider (IBM Cloud Activity Tracker, AWS CloudTrail, GCP Cloud Audit Logs, Azure Activity
Log) is a :class:`~auditlens.cloud.providers.Provider` registered by name in
:data:`~auditlens.cloud.providers.PROVIDERS`: it finds its events inside a parsed JSON value
(its wrappers) and maps one event to a row of the ``cloud_events`` table. The reader
(:mod:`auditlens.cloud.reader`, the work in :mod:`auditlens.cloud.stream`) owns everything else: sources, decompression, JSON framing, line
numbers, times, rejects, batches.
"""
