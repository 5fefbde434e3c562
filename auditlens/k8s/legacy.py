"""The legacy text format of ``--audit-log-format=legacy`` → raw rows.

One line per Event, written by k8s.io/apiserver ``pkg/audit/format.go`` (``EventString``)::

    <requestReceivedTimestamp RFC3339Nano> AUDIT: id="…" stage="…" ip="…" method="…" user="…"
    groups="…" as="…" asgroups="…" user-agent="…" namespace="…" uri="…" response="…"

Values are Go ``%q`` strings; ``groups``/``asgroups`` hold a comma-joined list of ``%q`` strings
(quoted twice). Placeholders mean "absent": ``<none>`` (user, groups, namespace), ``<self>`` (as),
``<lookup>`` (asgroups), ``<unknown>`` (ip), ``<deferred>`` (response). Only the first source IP
is logged. The line's time is when the request was *received* (there is no stage time).
"""

from __future__ import annotations

import re
from typing import Any

from .event import Origin, row_from_fields, service_account

LEGACY_LINE = re.compile(rb"^(\d{4}-\d\d-\d\dT\S+) AUDIT: (.*)$", re.DOTALL)
_PAIR = re.compile(r'([A-Za-z][\w-]*)="((?:[^"\\]|\\.)*)"')
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.DOTALL)
_SIMPLE = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
           "\\": "\\", '"': '"', "'": "'"}
_ABSENT = {"<none>", "<self>", "<lookup>", "<unknown>", "<deferred>"}


class LegacyError(ValueError):
    """The line looks like the legacy format but cannot be read."""


def go_unquote(body: str) -> str:
    """The text of a Go ``%q`` string body (without its quotes). ``\\xNN`` is a raw byte."""
    if "\\" not in body:
        return body
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(body):
        out += body[pos:m.start()].encode("utf-8", "surrogatepass")
        esc = m.group(1)
        if esc[0] == "x":
            out.append(int(esc[1:], 16))
        elif esc[0] in "uU":
            out += chr(int(esc[1:], 16)).encode("utf-8", "surrogatepass")
        elif esc[0] in "01234567" and len(esc) == 3:
            out.append(int(esc, 8) & 0xFF)
        elif esc in _SIMPLE:
            out += _SIMPLE[esc].encode()
        else:
            raise LegacyError(f"unknown escape \\{esc} in a quoted value")
        pos = m.end()
    out += body[pos:].encode("utf-8", "surrogatepass")
    return out.decode("utf-8", "backslashreplace")


def _value(fields: dict[str, str], key: str) -> str | None:
    v = fields.get(key)
    return None if v is None or v in _ABSENT else v


def _groups(text: str | None) -> list[str] | None:
    if text is None:
        return None
    return [go_unquote(m.group(1)) for m in _QUOTED.finditer(text)]


def legacy_row(raw: bytes, o: Origin, line: int) -> tuple[Any, ...]:
    """The raw row of one legacy line (``raw`` without its line ending)."""
    m = LEGACY_LINE.match(raw)
    if m is None:
        raise LegacyError("not a legacy audit line (<time> AUDIT: key=\"value\" …)")
    stamp = m.group(1).decode("ascii", "replace")
    text = m.group(2).decode("utf-8", "backslashreplace")
    fields = {k: go_unquote(v) for k, v in _PAIR.findall(text)}
    if "id" not in fields or "method" not in fields:
        raise LegacyError("legacy audit line without id= or method=")
    response = _value(fields, "response")
    code: int | None = None
    if response is not None:
        try:
            code = int(response)
        except ValueError as exc:
            raise LegacyError(f"response={response!r} is not a status code") from exc
    ip = _value(fields, "ip")
    user = _value(fields, "user")
    sa_ns, sa_name = service_account(user)
    return row_from_fields({
        "alt_time": stamp,
        "request_received": stamp,
        "audit_id": fields.get("id"),
        "stage": fields.get("stage"),
        "verb": fields.get("method"),
        "request_uri": fields.get("uri"),
        "user": user,
        "groups": _groups(_value(fields, "groups")),
        "impersonated_user": _value(fields, "as"),
        "impersonated_groups": _groups(_value(fields, "asgroups")),
        "service_account_namespace": sa_ns,
        "service_account_name": sa_name,
        "source_ips": [ip] if ip is not None else None,
        "user_agent": fields.get("user-agent"),
        "namespace": _value(fields, "namespace"),
        "response_code": code,
    }, o, line)

