"""Telling auditd logs from Kubernetes audit logs by their first lines, per input file.

Users hand ``auditlens report`` a mix of node audit directories and API server logs; each file
is routed to its reader by a cheap look at its first non-blank lines. Detectors are registered by
the source-type name users type (``--source-type``).
"""

from __future__ import annotations

import io
import re
import sys
from collections.abc import Callable
from typing import cast

from .sources import InputFile

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


def _is_k8s(lines: list[bytes]) -> bool:
    first = lines[0].lstrip(b"\xef\xbb\xbf \t") if lines else b""
    if first[:1] in (b"{", b"["):
        head = b"\n".join(lines)
        return any(marker in head for marker in _K8S_MARKERS)
    return bool(_CRI.match(first) or _LEGACY_K8S.match(first))


DETECTORS: dict[str, Callable[[list[bytes]], bool]] = {
    "auditd": _is_auditd,
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
        with inp.open() as stream:
            data = stream.read(SNIFF_BYTES)
    return detect_lines(head_lines(data))
