"""One auditd log line → one :class:`Record`, with nothing interpreted yet.

On the hot path, and a pure function of the line: one compiled regex finds the header, one
``findall`` splits the ``key=value`` body, or one ``fullmatch`` when the record has a key sequence
seen before (a learnt *shape*, see ``_shaped``; same result, several times cheaper). Lines we accept::

    [<syslog prefix> ][node=NAME ]type=TYPE msg=audit(SEC.MSEC:SERIAL): key=value … [\\x1dKEY=value …]
    … kernel: audit: type=1400 audit(SEC.MSEC:SERIAL): key=value …       (kernel ring / dmesg)

What the lexer does, and why:

* values stay exactly as logged, double quotes included: a quoted value is a literal string,
  an unquoted one may be hex (the kernel hex-encodes strings with spaces or odd bytes);
* a quoted value may contain spaces and ``=``; ENRICHED brace values (``SADDR={ fam=inet … }``)
  are one value;
* the inner ``msg='…'`` of user-space records is flattened into the same field dict, after the
  outer fields (as auparse does); bare words (``user`` of RHEL 6 records, ``avc:``) are dropped;
* ``avc:  denied  { read write }`` becomes ``seresult=denied`` and ``seperms=read,write`` (the
  names auparse gives them), for AVC and USER_AVC alike;
* inside ``msg='…'`` and AVC text, a leading ``(`` of a key and a trailing unbalanced ``)`` or
  ``,`` of a value are list punctuation (``(sauid=0, hostname=?)``) and are removed, as auparse does;
* a field logged twice keeps its first value (auparse's field cursor finds the first one);
* everything after the ENRICHED separator ``\\x1d`` (or rsyslog's escaped ``#035``) goes to
  ``Record.enriched``;
* a line holding two records (seen in old SELinux test logs) stays one record: the second
  header's ``msg=audit(…)`` is dropped like auparse drops it;
* bytes that are not UTF-8 are kept as ``\\xNN`` escapes (Arrow strings must be valid UTF-8).
"""

from __future__ import annotations

import re
from functools import lru_cache

from .model import Record

ENRICHED_SEPARATOR = "\x1d"
MAX_LINE_BYTES = 1 << 20
"""The readers' default ``max_line_bytes``: a record is at most ``MAX_AUDIT_MESSAGE_LENGTH``
(8970 bytes, libaudit.h) before ENRICHED adds its names; a line of a megabyte is not a log
(a decompression bomb, a binary file) and is rejected without being held."""

_HEADER = re.compile(
    r"(?:node=(\S*) )?type=(\S+) (?:msg=)?audit\((\d+)\.(\d+):(\d+)\):?"
)
"""``node=`` (optional), ``type=``, and the ``audit(SEC.MSEC:SERIAL)`` stamp; found with search()
so that syslog prefixes (``<134>Oct 28 … audispd: ``) are skipped."""

_VALUE = r"(\"[^\"]*\"?|\{[^}]*\}?|\S*)"
_KV = re.compile(r"(?<!\S)([^\s=]+)=" + _VALUE)
"""A ``key=value`` token starting a word; the look-behind keeps scanning linear on long words."""

_KV_FREE = re.compile(
    r"(?<!\S)\(?([^\s=(][^\s=]*)="
    r"(\"[^\"]*\"?|\{[^}]*\}?|[^\s(,)]*\([^\s)]*\)(?=[,)]*(?!\S))|[^\s,)]*(?:[,)]+[^\s,)]+)*)[,)]*"
)
"""``key=value`` in free text: a key's leading ``(`` and a value's trailing ``,`` or unbalanced
``)`` are list punctuation (``(sauid=0, hostname=?)``), removed as auparse does."""
_MSG = re.compile(r"msg=('[^']*'?)")
_AVC = re.compile(r"avc:\s+(\w+)\s+\{([^}]*)\}")
_GLUED_STAMP = re.compile(r"msg=audit\([^)]*\):?")
_ESCAPED_SEPARATOR = re.compile(r"#035(?=[A-Z][A-Z0-9_-]*=)")
_NOT_TEXT = re.compile(r"[\x00-\x08\x0e-\x1a\x1c\x1e\x1f]")


class LexError(ValueError):
    """A line that is not an auditd record; ``reason`` is the one-sentence why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@lru_cache(maxsize=256)
def _type_name(number: int) -> str:
    """Numeric record types of kernel-ring lines (``type=1400``) → names, as auditd logs them."""
    try:
        from .tables import record_type_name
    except ImportError:  # pragma: no cover - the tables package is optional here
        return f"UNKNOWN[{number}]"
    name: str | None = record_type_name(number)
    return name or f"UNKNOWN[{number}]"


def _plain_into(text: str, out: dict[str, str]) -> None:
    """The ``key=value`` pairs of a plain stretch of text into ``out`` (first value wins)."""
    punctuated = "(" in text or "," in text or ")" in text
    pairs = (_KV_FREE if punctuated else _KV).findall(text)
    if not pairs:
        return
    new = _first_wins(pairs)
    if not out:
        out.update(new)
    elif out.keys() & new.keys():
        for k, v in new.items():
            if k not in out:
                out[k] = v
    else:
        out.update(new)


def _avc_into(text: str, out: dict[str, str]) -> None:
    """A stretch that may hold ``avc:  denied  { perms }``: seresult/seperms where it stands."""
    m = _AVC.search(text) if "avc:" in text else None
    if m is None:
        _plain_into(text, out)
        return
    _plain_into(text[: m.start()], out)
    out.setdefault("seresult", m.group(1))
    out.setdefault("seperms", ",".join(m.group(2).split()))
    _plain_into(text[m.end():], out)


_ATOMIC_VALUE = r"((?>\"[^\"]*\"?|\{[^}]*\}?|\S*))"
"""``_VALUE`` as an atomic group: the alternative that matches first is kept, as findall keeps it."""
_SHAPES: dict[tuple[str, int], list[tuple[tuple[str, ...], re.Pattern[str]]]] = {}
_SHAPE_BUCKETS = 256
_SHAPES_PER_BUCKET = 2


def _shaped(rtype: str, body: str) -> dict[str, str]:
    """The fields of a kernel record, the fast way when its *shape* was seen before.

    Records of one type mostly log the same keys in the same order (every SYSCALL of an arch,
    every PATH). A shape is the regex `` k1=(v) k2=(v) …`` of such a key sequence, learnt from a
    record ``findall`` lexed whose text is exactly `` k1=v1 k2=v2 …`` (single spaces, unique keys)
    and tried with one ``fullmatch``, which is several times cheaper than one match per field.
    Values use ``_VALUE`` in an atomic group, and the separators are literal, so a shape matches
    only text that ``findall`` splits into exactly the same pairs: the result is identical, and
    anything else (extra spaces, bare words, odd quotes) falls back to ``findall``."""
    bucket = (rtype, body.count("="))
    shapes = _SHAPES.get(bucket)
    if shapes is not None:
        for keys, shape in shapes:
            m = shape.fullmatch(body)
            if m is not None:
                return dict(zip(keys, m.groups()))
    pairs = _KV.findall(body)
    fields = _first_wins(pairs)
    if (len(fields) == len(pairs) and pairs and len(shapes or ()) < _SHAPES_PER_BUCKET
            and (shapes is not None or len(_SHAPES) < _SHAPE_BUCKETS)
            and body == "".join([f" {k}={v}" for k, v in pairs])):
        keys = tuple(fields)
        shape = re.compile("".join([" " + re.escape(k) + "=" + _ATOMIC_VALUE for k in keys]))
        _SHAPES.setdefault(bucket, []).append((keys, shape))
    return fields


def _fields(body: str, rtype: str = "") -> dict[str, str]:
    if "msg=" not in body and "avc:" not in body:  # most kernel records
        return _shaped(rtype, body)
    out: dict[str, str] = {}
    if "msg=audit(" in body:  # rare: two records glued on one line; drop the second stamp
        body = _GLUED_STAMP.sub(" ", body)
    m = _MSG.search(body)
    while m is not None and m.start() and not body[m.start() - 1].isspace():
        m = _MSG.search(body, m.end())  # "msg='" inside another word is not the message
    if m is None:
        _avc_into(body, out)
        return out
    inner = m.group(1)
    inner = inner[1:-1] if len(inner) > 1 and inner.endswith("'") else inner[1:]
    _avc_into(body[: m.start()], out)
    _avc_into(inner, out)
    _avc_into(body[m.end():], out)
    return out


def _first_wins(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Pairs → dict in input order; a key logged twice keeps its first value."""
    fields = dict(pairs)
    if len(fields) != len(pairs):
        fields = {}
        for k, v in pairs:
            if k not in fields:
                fields[k] = v
    return fields


def _why_not(text: str, raw: bytes) -> str:
    """The reject reason for a line the header regex did not match."""
    if not text.strip():
        return "blank line"
    if b"\x00" in raw or len(_NOT_TEXT.findall(text[:4096])) > 0.1 * min(len(text), 4096):
        return "line is not text (binary data)"
    if "type=" not in text:
        return "not an audit record: no type= field"
    return "malformed msg=audit(…) header"


def parse_line(raw: bytes, file: str, line: int) -> Record:
    """Lex one line (without its newline) into a :class:`Record`; raise :class:`LexError` if it is none."""
    text = raw.decode("utf-8", "backslashreplace")
    m = _HEADER.search(text)
    if m is None:
        raise LexError(_why_not(text, raw))
    node, rtype, sec, msec, serial = m.groups()
    if rtype.isdigit():
        rtype = _type_name(int(rtype))
    body = text[m.end():]
    enriched: dict[str, str] = {}
    cut = body.find(ENRICHED_SEPARATOR)
    skip = 1
    if cut < 0 and "#035" in body:
        found = _ESCAPED_SEPARATOR.search(body)
        cut, skip = (found.start(), 4) if found else (-1, 0)
    if cut >= 0:
        # a leading space changes nothing for findall and lets the translations have a shape
        enriched = _shaped(ENRICHED_SEPARATOR + rtype, " " + body[cut + skip:])
        body = body[:cut]
    return Record(
        node or None, rtype, int(sec), int(msec), int(serial), _fields(body, rtype), enriched,
        file, line
    )
