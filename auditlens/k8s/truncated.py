"""Reading what is left of a JSON object that a log shipper cut off.

CloudWatch Logs caps an event's message (EKS audit Events over the limit end in
``[Truncated...]``, see falcosecurity/plugins ``plugins/k8saudit-eks``). The API server writes an
Event's fields in a fixed order with the bulky request/response objects near the end, so the
who/what fields usually survive. We cut the text back to the last complete member and close the
open brackets, which gives a valid object holding every field that was logged in full.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

TRUNCATED_MARK = "[Truncated...]"
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},]')
_CLOSE = {"{": "}", "[": "]"}
_MAX_TRIES = 200


def salvage(text: str) -> dict[str, Any] | None:
    """The longest prefix of a cut-off JSON object that parses, closed; None when none does."""
    text = text.rstrip()
    text = text.removesuffix(TRUNCATED_MARK)
    stack: list[str] = []
    cuts: list[tuple[int, str]] = []
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok in ("{", "["):
            stack.append(tok)
        elif tok in ("}", "]"):
            if not stack:
                return None
            stack.pop()
        elif tok == "," and stack:
            cuts.append((m.start(), "".join(_CLOSE[b] for b in reversed(stack))))
    for pos, closers in reversed(cuts[-_MAX_TRIES:]):
        try:
            value = orjson.loads(text[:pos] + closers)
        except orjson.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None
