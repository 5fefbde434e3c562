"""Telling auditd logs, cloud service audit events and Kubernetes audit logs apart by their first lines, per input file, and routing inputs to their readers (:func:`route`; no pyarrow here: the CLI routes before a read starts its workers).

Users hand ``auditlens report`` a mix of node audit directories and API server logs; each file
is routed to its reader by a cheap look at its first non-blank lines. Detectors are registered by
the source-type name users type (``--source-type``).
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from .errors import SourceError
from .sources import READ_ERRORS, InputFile, expand_sources
from .sources.lines import read_blocks

SNIFF_BYTES = 64 * 1024
SNIFF_LINES = 20

_AUDITD = re.compile(rb"(?:^|[\s:])type=[A-Z_0-9\[\]]+ msg=audit\(\d+\.\d+:\d+\)")
_CRI = re.compile(rb"^\d{4}-\d\d-\d\dT[\d:.]+(?:Z|[+-]\d\d:\d\d) (?:stdout|stderr) [FP] ")
_LEGACY_K8S = re.compile(rb"^\d{4}-\d\d-\d\dT\S+ AUDIT: id=\"")


def _is_auditd(lines: list[bytes]) -> bool:
    return any(_AUDITD.search(line) for line in lines)


# names every audit Event (or its cloud wrapper) carries; JSON without any of them in the first
# lines is some other JSON file (a manifest, a tool's output), not an audit log
_K8S_MARKERS = (b"auditID", b"audit.k8s.io", b"requestURI", b"stageTimestamp", b"protoPayload",
                b"k8s.io", b"resourceLogs", b"kube-audit", b"\"records\"")


# service (cloud control-plane) events: asked before k8s, whose markers (protoPayload, "records")
# GCP and Azure service logs carry too; GKE (serviceName k8s.io) and AKS (category kube-audit*)
# API audit entries are left to k8s. Each check names what only that provider's events have.
_RECORDS_FILE = re.compile(rb'\s*\{\s*"Records"\s*:')  # CloudTrail's file, pretty-printed or not
# S3/SNS/SQS notifications (a Lambda's input) also come as {"Records": [...]}: their eventSource
# is "aws:s3", CloudTrail's a service host (eks.amazonaws.com)
_NOTIFICATION = re.compile(rb'"eventSource"\s*:\s*"aws:')
_CLOUDTRAIL_SOURCE = re.compile(rb'"eventSource"\s*:\s*"[\w.-]+\.amazonaws\.com"')
# a trail sent to CloudWatch Logs: each message a record as JSON text (quotes escaped); EKS
# control-plane log groups carry Kubernetes audit Events instead and stay with k8s
_CLOUDWATCH_TRAIL = re.compile(rb'\\"eventSource\\"\s*:\s*\\"[\w.-]+\.amazonaws\.com\\"')
_GCP_AUDIT = re.compile(rb'"@type"\s*:\s*"type\.googleapis\.com/google\.cloud\.audit\.AuditLog"')
_SERVICE = re.compile(rb'"serviceName"\s*:\s*"([^"]*)"')
_KUBE_AUDIT = re.compile(rb'"category"\s*:\s*"kube-audit')


def _has(head: bytes, *keys: bytes) -> bool:
    return all(b'"' + key + b'"' in head for key in keys)


def _is_ibm(head: bytes) -> bool:
    """CADF events: plain, the payload/meta wrapper, a LogDNA archive record (``o_`` keys)."""
    return _has(head, b"action") and (_has(head, b"eventTime", b"initiator")
                                      or _has(head, b"payload", b"initiator")
                                      or _has(head, b"_source", b"o_initiator"))


def _is_cloudtrail(head: bytes) -> bool:
    """A record (one per line, an EventBridge envelope), a ``Records`` file that is no
    notification, or CloudWatch Logs events whose messages are records."""
    if _RECORDS_FILE.match(head):
        return not _NOTIFICATION.search(head)
    return bool((_CLOUDTRAIL_SOURCE.search(head) and _has(head, b"eventName"))
                or ((_has(head, b"logEvents") or _has(head, b"events"))
                    and _CLOUDWATCH_TRAIL.search(head)))


def _is_gcp(head: bytes) -> bool:
    """Cloud Audit Log entries of a service other than GKE's Kubernetes API (``k8s.io``).

    A file that mixes both (a Cloud Storage sink of ``cloudaudit.googleapis.com/activity``
    holds every service's entries) is read as service events: the cloud reader rejects its
    ``k8s.io`` entries with a reason saying so (the Kubernetes reader, asked, rejects the
    service entries alike)."""
    if not _GCP_AUDIT.search(head):
        return False
    services = set(_SERVICE.findall(head))
    return bool(services - {b"k8s.io"})


def _is_azure(head: bytes) -> bool:
    """Activity Log records (REST or resource-log form), not AKS ``kube-audit`` records."""
    return (_has(head, b"operationName") and (_has(head, b"resourceId") or _has(head, b"resourceUri"))
            and (_has(head, b"caller") or _has(head, b"claims")) and not _KUBE_AUDIT.search(head))


CLOUD_DETECTORS: dict[str, Callable[[bytes], bool]] = {
    "ibm": _is_ibm, "aws": _is_cloudtrail, "gcp": _is_gcp, "azure": _is_azure,
}
"""Per provider, whether a file's first lines (joined) are its service events."""


def _is_cloud(lines: list[bytes]) -> bool:
    first = lines[0].lstrip(b"\xef\xbb\xbf \t") if lines else b""
    if first.startswith(b"PAR1"):  # an IBM Cloud Logs Parquet archive
        return True
    if first[:1] not in (b"{", b"["):
        return False
    head = b"\n".join(lines)
    return any(looks_like(head) for looks_like in CLOUD_DETECTORS.values())


def _is_k8s(lines: list[bytes]) -> bool:
    first = lines[0].lstrip(b"\xef\xbb\xbf \t") if lines else b""
    if first[:1] in (b"{", b"["):
        head = b"\n".join(lines)
        return any(marker in head for marker in _K8S_MARKERS)
    return bool(_CRI.match(first) or _LEGACY_K8S.match(first))


DETECTORS: dict[str, Callable[[list[bytes]], bool]] = {
    "auditd": _is_auditd,
    "cloud": _is_cloud,  # before k8s: see _is_cloud
    "k8s": _is_k8s,
}
SOURCE_TYPES: tuple[str, ...] = tuple(DETECTORS)


def head_lines(data: bytes) -> list[bytes]:
    """The first non-blank lines of a sample (the last, possibly cut, line is dropped if others exist)."""
    lines = [ln for ln in data.split(b"\n") if ln.strip()]
    if len(lines) > 1 and not data.endswith(b"\n"):
        lines = lines[:-1]
    return lines[:SNIFF_LINES]


def detect_lines(lines: list[bytes]) -> str | None:
    """Name of the source type these lines look like, or None."""
    for name, looks_like in DETECTORS.items():
        if looks_like(lines):
            return name
    return None


def detect_file(inp: InputFile) -> str | None:
    """Source type of one input file, from its first decompressed bytes; None when unknown or empty."""
    if inp.name == "-":  # stdin cannot be reopened: look without consuming
        data = cast(io.BufferedReader, sys.stdin.buffer).peek(SNIFF_BYTES)  # buffered at run time
    else:
        data = _start(inp)
    return detect_lines(head_lines(data))


def _start(inp: InputFile) -> bytes:
    """The first ``SNIFF_BYTES`` of a file, or as many as can be read before it turns out damaged
    (its reader then rejects the rest); an error naming the file when not one can be read: its
    kind, and so which reader would count its damage, is unknown."""
    data = b""
    try:
        with inp.open() as stream:
            for block in read_blocks(stream, SNIFF_BYTES):
                data += block
                if len(data) >= SNIFF_BYTES:
                    break
    except READ_ERRORS as exc:
        if not data:
            raise SourceError(f"cannot tell its kind: its start cannot be read (corrupt or "
                              f"truncated: {exc}); name the kind (--source-type, source_type=) "
                              "to read it, its damage counted as rejects", file=inp.name) from None
    return data[:SNIFF_BYTES]


@dataclass
class Routed:
    """Input files by kind, in reading order, and what was skipped on the way."""

    files: dict[str, list[str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    id_files: list[str] = field(default_factory=list)


def route(sources: Iterable[str], source_type: str = "auto") -> Routed:
    """Expand ``sources`` and route each file to a reader by its content (or by ``source_type``).

    A file named directly that is neither kind is an error; one found by walking a directory or
    by a glob is skipped and listed (a README, a copied passwd file). Empty files hold no lines and are left out.
    """
    routed = Routed()
    for item in sources:
        for inp in expand_sources(item):
            from_dir = inp.name != str(item)  # found by walking a directory or by a glob
            kind = source_type if source_type != "auto" else detect_file(inp)
            if kind is None:
                if inp.size == 0:
                    continue
                if from_dir and _is_id_file(inp.name):
                    routed.id_files.append(inp.name)  # a node's etc/passwd, used to name uids
                    continue
                if from_dir:
                    routed.skipped.append(inp.name)
                    continue
                raise SourceError(
                    "cannot tell whether this is an auditd, a Kubernetes or a service (cloud) "
                    "audit log; use --source-type auditd|k8s|cloud",
                    file=inp.name,
                )
            routed.files.setdefault(kind, []).append(inp.name)
    return routed


def _is_id_file(path: str) -> bool:
    p = Path(path)
    return p.name in ("passwd", "group") and p.parent.name == "etc"
