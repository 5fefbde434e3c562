"""Mutation fuzzer for the auditd C fast path (auditlens/auditd/_fastaudit.c): small logs built
from real auditd lines (random windows, subsets and interleavings), with lines mutated (bytes
flipped, cut, inserted; ``key=value`` tokens duplicated or removed; numbers made huge, negative,
``1_0``, ``0o7``; quotes removed or added; ``node=`` prefixes; stamps shifted so that events
interleave and time out) and odd events (EXECVE ``aN``/``aN[k]``/``aN_len``/``argc`` games, 300
PATH records, 10 000+ records under one serial, 10 000+ open events, very long lines).

Each log is read with ``read_auditd`` (now and then ``open_auditd`` with a small batch size, or
``errors="raise"``, or the sample nodes' passwd/group) or, for a third of the logs, with the
records readers (``read_auditd_records``, ``open_auditd_records``, ``read_record_types``: the C
records path, ``native_records``) on the fast path and with
``native.Parser = None`` (the Python path, the reference): tables (with schema metadata),
streamed batches, rejects, warnings and exceptions must be the same. A mismatch is cut down to a
minimal log, printed, and the run exits non-zero. Meant to run under AddressSanitizer too
(scripts/asan_fastpath.sh): an abort there leaves the log being read in the file named at start.

Deterministic: iteration N of seed S is always the same log (``--only N`` prints it).

Usage: python scripts/fuzz_auditd_fastpath.py CORPORA_DIR [ITERATIONS] [SEED]
           [--keep-going [--reproducers K]] [--only N] [--minutes M] [--minimise-seconds S]
CORPORA_DIR holds ``auditd/`` and ``auditd-reference/`` (or is itself a folder of auditd logs);
the repository's sample_logs/auditd is always used too.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import random
import re
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from auditlens import open_auditd, open_auditd_records, read_auditd, read_auditd_records
from auditlens.auditd import native
from auditlens.auditd.interpret import _arg_key, to_int
from auditlens.auditd.lexer import LexError, parse_line
from auditlens.auditd.reader import read_record_types
from auditlens.rejects import RejectLog

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_logs" / "auditd"
FAST = native.Parser
BASE_SEC = 1_700_000_000
ARGV_LIMIT = 100_000
"""EXECVE records whose argc or highest aN index is above this are left out: both paths make
an argv list that long (interpret.execve_argv), so argc=2147483648 takes minutes and gigabytes
on either (the C path declines events past its 65 536 arguments); values around the C limit
stay in."""

HEADER = re.compile(rb"(?:node=(\S*) )?type=(\S+) (?:msg=)?audit\((\d+)\.(\d+):(\d+)\):?")
NUMBER = re.compile(rb"(?<=[=\s(:.])-?\d+")
TOKEN = re.compile(rb"(?<!\S)[^\s=]+=(?:\"[^\"]*\"?|\{[^}]*\}?|\S*)")

PIECES = (b'= " \' ( ) { } : . , \x1d #035 msg=audit( type= node= item= argc= a0= a1[0]= a1_len= '
          b'name= cwd= proctitle= syscall= arch= exit= success= auid= uid= mode= nametype= '
          b'key= comm= exe= (null) ? 0 -1 00 0x 0o 1_0 \x00 \x7f \x80 \xc3\xa9 \xed\xa0\x80 '
          b'\xff 4294967295 18446744073709551616 99999999999999999999999 \\ \t \r')
ODD_NUMBERS = (b"0", b"-0", b"-1", b"+1", b"00", b"007", b"1_000", b"0o17", b"0x1f", b"0b1",
               b"4294967295", b"4294967296", b"-2147483649", b"2147483648",
               b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
               b"-9223372036854775809", b"18446744073709551615", b"18446744073709551616",
               b"99999999999999999999999999999999", b"1e3", b"", b" 1", b"\xd9\xa5",
               b"\xef\xbc\x97", b"ffffffff", b"-4095", b"-4096")
RECORD_TYPES = (b"SYSCALL", b"EXECVE", b"CWD", b"PATH", b"PROCTITLE", b"EOE", b"SOCKADDR",
                b"USER_LOGIN", b"USER_CMD", b"AVC", b"CONFIG_CHANGE", b"BPRM_FCAPS", b"1300",
                b"UNKNOWN[9999]", b"", b"syscall", b"EXECVE ", b"KERNEL", b"ANOM_ABEND")
TYPE_PREFIXES = (("SYSCALL", "USER_"), ("EXECVE", "PATH", "CWD"), ("AVC", "USER_AVC"), ("EOE",),
                 ("S",), ())
"""The ``prefixes`` of read_record_types cases."""
NAMETYPES = (b"NORMAL", b"PARENT", b"CREATE", b"DELETE", b"UNKNOWN", b"", b"\"CREATE\"")


# -- seeds ---------------------------------------------------------------------------------------

def _file_lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            return []
    return [line for line in data.splitlines() if b"type=" in line and b"audit(" in line]


def load_seeds(corpora: Path) -> list[list[bytes]]:
    """The auditd lines of every file, one list per file (windows keep events together)."""
    roots = [corpora / "auditd", corpora / "auditd-reference"]
    roots = [r for r in roots if r.is_dir()] or [corpora]
    files = [p for root in roots for p in sorted(root.rglob("*"))
             if p.is_file() and p.name != "MANIFEST.tsv"]
    files += sorted(SAMPLES.glob("*/var/log/audit/*"))
    return [lines for lines in map(_file_lines, files) if lines]


@dataclass
class Pool:
    files: list[list[bytes]]
    by_type: dict[bytes, list[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for lines in self.files:
            for line in lines:
                m = HEADER.search(line)
                if m:
                    self.by_type.setdefault(m.group(2), []).append(line[m.end():])

    def line(self, rng: random.Random) -> bytes:
        return rng.choice(rng.choice(self.files))

    def body(self, rng: random.Random, rtype: bytes) -> bytes:
        bodies = self.by_type.get(rtype)
        return rng.choice(bodies) if bodies else b" x=1"


# -- line mutations ------------------------------------------------------------------------------

def _stamp(line: bytes, fn: Callable[[int, int, int], tuple[Any, Any, Any]]) -> bytes:
    m = HEADER.search(line)
    if not m:
        return line
    sec, msec, serial = fn(int(m.group(3)), int(m.group(4)), int(m.group(5)))
    stamp = f"audit({sec}.{msec}:{serial})".encode()
    return line[:m.start(3) - 6] + stamp + line[m.end(5) + 1:]


def _retype(line: bytes, rtype: bytes) -> bytes:
    m = HEADER.search(line)
    return line[:m.start(2)] + rtype + line[m.end(2):] if m else line


def mutate(rng: random.Random, line: bytes) -> bytes:
    """One or a few mutations of a line."""
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        op = rng.randrange(14)
        b = bytearray(line)
        at = rng.randrange(len(b) + 1)
        if op == 0:  # byte flips
            for _ in range(rng.randint(1, 4)):
                if b:
                    i = rng.randrange(len(b))
                    b[i] ^= 1 << rng.randrange(8)
            line = bytes(b)
        elif op == 1:  # truncation
            line = line[:at]
        elif op == 2:  # deletion
            del b[at:at + rng.randint(1, 12)]
            line = bytes(b)
        elif op == 3:  # insertion of punctuation, keys, odd bytes
            k = rng.randrange(len(PIECES))
            b[at:at] = PIECES[k:k + rng.randint(1, 16)]
            line = bytes(b)
        elif op in (4, 5):  # key=value tokens duplicated, removed, moved
            toks = list(TOKEN.finditer(line))
            if toks:
                t = rng.choice(toks)
                tok = t.group()
                what = rng.randrange(4)
                if what == 0:
                    line = line[:t.end()] + b" " + tok + line[t.end():]
                elif what == 1:
                    line = line[:t.start()] + line[t.end():]
                elif what == 2:
                    line = line + b" " + tok
                else:  # same key, other value
                    key = tok.split(b"=", 1)[0]
                    line = line + b" " + key + b"=" + rng.choice(ODD_NUMBERS)
        elif op in (6, 7):  # numbers replaced
            nums = list(NUMBER.finditer(line))
            if nums:
                for _ in range(rng.randint(1, 3)):
                    n = rng.choice(nums)
                    line = line[:n.start()] + rng.choice(ODD_NUMBERS) + line[n.end():]
                    nums = list(NUMBER.finditer(line))
                    if not nums:
                        break
        elif op == 8:  # quotes removed or added
            toks = list(TOKEN.finditer(line))
            if toks:
                t = rng.choice(toks)
                key, _, value = t.group().partition(b"=")
                if value.startswith(b'"'):
                    value = value.strip(b'"') if rng.random() < 0.7 else value[:-1]
                else:
                    value = rng.choice((b'"' + value + b'"', b'"' + value, value + b'"'))
                line = line[:t.start()] + key + b"=" + value + line[t.end():]
        elif op == 9:  # node= prefix
            m = HEADER.search(line)
            if m and m.group(1) is not None and rng.random() < 0.5:
                line = line[:m.start()] + line[m.start(2) - 5:]
            else:
                node = rng.choice((b"node-a", b"node-b", b"", b"n\xc3\xa9", b"a=b", b"x" * 300))
                line = b"node=" + node + b" " + line[m.start(2) - 5 if m else 0:]
        elif op == 10:  # stamp shifted
            shift = rng.choice((-3, -2, -1, 1, 2, 3, 5, 100, -100, 10**12, -BASE_SEC))
            line = _stamp(line, lambda s, ms, n: (max(s + shift, 0), ms, n))
        elif op == 11:  # odd stamps
            line = _stamp(line, lambda s, ms, n: rng.choice((
                (s, rng.choice((0, 999, 1000, 99999)), n),
                (s, ms, rng.choice((0, 1, 2**31, 2**63 - 1, 2**64, 10**30))),
                (rng.choice((0, 2**31, 2**63 - 1, 2**63, 2**64 + 5, 10**25)), ms, n),
                (f"{s:015d}", f"{ms:05d}", f"{n:08d}"))))
        elif op == 12:  # record type changed
            line = _retype(line, rng.choice(RECORD_TYPES))
        else:  # a long value
            name = rng.choice((b"a0", b"name", b"cwd", b"proctitle", b"comm", b"exe", b"key", b"x"))
            size = rng.choice((300, 5000, 70_000))
            value = rng.choice((b"41" * size, b'"' + b"a" * size + b'"', b"2F" * size,
                                b"\xff" * size))
            line = line + b" " + name + b"=" + value
    return line


# -- whole logs ----------------------------------------------------------------------------------

def _hdr(node: bytes | None, rtype: bytes, sec: int, msec: int, serial: int) -> bytes:
    prefix = b"node=" + node + b" " if node is not None else b""
    return prefix + b"type=" + rtype + f" msg=audit({sec}.{msec:03d}:{serial}):".encode()


def _syscall_event(rng: random.Random, pool: Pool, node: bytes | None, sec: int, msec: int,
                   serial: int, paths: int, execve: list[bytes] | None = None) -> list[bytes]:
    h = lambda t: _hdr(node, t, sec, msec, serial)  # noqa: E731
    out = [h(b"SYSCALL") + pool.body(rng, b"SYSCALL")]
    if execve is not None:
        out += [h(b"EXECVE") + b" " + body for body in execve]
    out.append(h(b"CWD") + pool.body(rng, b"CWD"))
    for i in range(paths):
        item = i if rng.random() < 0.9 else rng.choice((0, i + 1, -1, 300, 2**40))
        body = re.sub(rb"item=\d+", b"item=%d" % item, pool.body(rng, b"PATH"), count=1)
        if rng.random() < 0.2:
            body = re.sub(rb"nametype=\S*", b"nametype=" + rng.choice(NAMETYPES), body)
        out.append(h(b"PATH") + body)
    if rng.random() < 0.8:
        out.append(h(b"PROCTITLE") + pool.body(rng, b"PROCTITLE"))
    if rng.random() < 0.8:
        out.append(h(b"EOE"))
    return out


def _hexarg(rng: random.Random, n: int) -> bytes:
    data = bytes(rng.choice(b"ab/ \x00\xff\xc3") for _ in range(n))
    return data.hex().upper().encode()


def _argval(rng: random.Random) -> bytes:
    return rng.choice((b'"ls"', b'"-la"', b'""', b"(null)", b'"a b"', _hexarg(rng, rng.randint(0, 9)),
                       b"ABC", b"4", b'"x', b"0", b'"' + b"y" * rng.choice((10, 4000)) + b'"'))


def execve_bodies(rng: random.Random) -> list[bytes]:
    """EXECVE records playing with argc, aN, aN[k], aN_len (over one or several records)."""
    argc = rng.choice((0, 1, 2, 3, 5, 20, 300, 65535, 65536, 65537, 99_999, 2**31, -1))
    toks: list[bytes] = []
    shown = min(argc, 40) if argc > 0 else rng.randint(0, 3)
    for i in range(shown):
        kind = rng.random()
        if kind < 0.6:
            toks.append(b"a%d=%s" % (i, _argval(rng)))
        elif kind < 0.85:  # split argument: aN_len then aN[k]
            parts = rng.randint(1, 4)
            length = rng.choice((parts * 4, 0, 10**20, -1, 3))
            toks.append(b"a%d_len=%d" % (i, length))
            for k in rng.sample(range(parts + 1), parts) if rng.random() < 0.3 else range(parts):
                toks.append(b"a%d[%d]=%s" % (i, k, _hexarg(rng, 2)))
        elif kind < 0.92:
            toks.append(b"a%d[%d]=%s" % (i, rng.choice((0, 1, 99999999999, -1)), _argval(rng)))
        else:
            pass  # a hole
    extras = (b"a99999999999=\"x\"", b"a-1=\"x\"", b"a01=\"x\"", b"a0=\"dup\"", b"a1_len=",
              b"a1[]=41", b"a1[x]=41", b"a_len=4", b"a=1", b"a%d=\"past\"" % (shown + 5),
              b"a65536=\"x\"", b"a0[0]=4141", b"a0_len=2", b"argc=3")
    for _ in range(rng.choice((0, 0, 1, 2, 4))):
        toks.insert(rng.randint(0, len(toks)), rng.choice(extras))
    if rng.random() < 0.3:
        rng.shuffle(toks)
    head = [] if rng.random() < 0.1 else [b"argc=%d" % argc]
    bodies: list[bytes] = []
    while True:  # the kernel cuts long argument lists over several EXECVE records
        take = rng.randint(1, 12) if rng.random() < 0.3 else len(toks)
        bodies.append(b" ".join(head + toks[:take]))
        toks, head = toks[take:], []
        if not toks:
            return bodies


def argv_too_long(line: bytes) -> bool:
    """Whether the Python path would make an argv list longer than ARGV_LIMIT of this line."""
    try:
        record = parse_line(line, "x", 1)
    except LexError:
        return False
    if record.type != "EXECVE":
        return False
    for key, value in record.fields.items():
        n = to_int(value) if key == "argc" else _arg_key(key)[0]
        if n is not None and n > ARGV_LIMIT:
            return True
    return False


def build_log(rng: random.Random, pool: Pool, *, heavy: bool) -> list[bytes]:
    """The lines of one log."""
    shape = rng.random()
    lines: list[bytes] = []
    if shape < 0.35:  # a window of a real file
        src = rng.choice(pool.files)
        start = rng.randrange(len(src))
        lines = src[start:start + rng.randint(1, 80)]
    elif shape < 0.5:  # random subset, random order
        lines = [pool.line(rng) for _ in range(rng.randint(1, 40))]
    elif shape < 0.65:  # windows of several files interleaved
        streams = []
        for _ in range(rng.randint(2, 4)):
            src = rng.choice(pool.files)
            start = rng.randrange(len(src))
            streams.append(list(src[start:start + rng.randint(1, 30)]))
        while any(streams):
            s = rng.choice([s for s in streams if s])
            lines.append(s.pop(0))
    else:  # synthetic events, interleaved, stamps moving on (some time out)
        events = []
        node = rng.choice((None, None, b"node-a", b"node-b"))
        sec = BASE_SEC
        for serial in range(rng.randint(1, 8)):
            sec += rng.choice((0, 0, 1, 2, 3, 5))
            ev_node = node if rng.random() < 0.9 else rng.choice((None, b"other"))
            paths = rng.choice((0, 1, 2, 3, 5)) if rng.random() < 0.9 else rng.choice((255, 256, 257, 300))
            execve = execve_bodies(rng) if rng.random() < 0.5 else None
            events.append(_syscall_event(rng, pool, ev_node, sec, rng.randrange(1000),
                                         1000 + serial, paths, execve))
        if rng.random() < 0.5:
            lines = [line for ev in events for line in ev]
        else:
            while any(events):
                ev = rng.choice([e for e in events if e])
                lines.append(ev.pop(0))
    if heavy:
        lines = heavy_log(rng, pool, lines)
    if rng.random() < 0.4:  # a few real lines more, anywhere
        for _ in range(rng.randint(1, 5)):
            lines.insert(rng.randint(0, len(lines)), pool.line(rng))
    rate = rng.choice((0.0, 0.05, 0.2, 0.5, 1.0))
    lines = [mutate(rng, line) if rng.random() < rate else line for line in lines]
    if rng.random() < 0.1:
        lines.insert(rng.randint(0, len(lines)), rng.choice(
            (b"", b"   ", b"garbage", b"\x00\xff", b"type=SYSCALL msg=audit(17000", b"\r")))
    return [line for line in lines if not argv_too_long(line)]


def heavy_log(rng: random.Random, pool: Pool, lines: list[bytes]) -> list[bytes]:
    """Events at the parser's limits: 10 000+ records in one serial, 10 000+ open events,
    a very long line."""
    kind = rng.randrange(4)
    sec, serial = BASE_SEC + 10, 777
    node = rng.choice((None, b"node-a"))
    if kind == 0:  # one serial with more records than an event may hold
        n = rng.choice((9_999, 10_000, 10_001, 20_003))
        rtype = rng.choice((b"PATH", b"EXECVE", b"UNKNOWN[1327]"))
        body = pool.body(rng, rtype) if rtype != b"EXECVE" else b' argc=1 a0="x"'
        ev = [_hdr(node, b"SYSCALL", sec, 1, serial) + pool.body(rng, b"SYSCALL")]
        ev += [_hdr(node, rtype, sec, 1, serial) + body] * n
        ev.append(_hdr(node, b"EOE", sec, 1, serial))
    elif kind == 1:  # many open events (no EOE, same second): over the pending limit
        ev = []
        for i in range(rng.choice((10_000, 10_001, 10_050))):
            ev.append(_hdr(node, b"SYSCALL", sec, 1, serial + i) + pool.body(rng, b"SYSCALL"))
        if rng.random() < 0.5:  # and then their second records
            ev += [_hdr(node, b"CWD", sec, 1, serial + i) + b' cwd="/"' for i in range(0, 10_050, 7)]
    elif kind == 2:  # a very long line
        n = rng.choice((1 << 16, 1 << 20, 3 << 20))
        line = _hdr(node, rng.choice((b"SYSCALL", b"EXECVE", b"PATH", b"PROCTITLE", b"CWD")),
                    sec, 1, serial)
        ev = [line + rng.choice((b" a0=" + b"41" * (n // 2), b' name="' + b"b" * n + b'"',
                                 b" proctitle=" + b"2F" * (n // 2), b" cwd=" + b"61" * (n // 2),
                                 b" x=1" * (n // 4)))]
        ev.append(_hdr(node, b"EOE", sec, 1, serial))
    else:  # an EXECVE with tens of thousands of arguments
        n = rng.choice((4_000, 65_536, 65_537))
        args = b" ".join(b"a%d=\"%d\"" % (i, i) for i in range(n))
        ev = [_hdr(node, b"SYSCALL", sec, 1, serial) + pool.body(rng, b"SYSCALL"),
              _hdr(node, b"EXECVE", sec, 1, serial) + b" argc=%d " % n + args,
              _hdr(node, b"EOE", sec, 1, serial)]
    at = rng.randint(0, len(lines))
    return lines[:at] + ev + lines[at:]


# -- a case: the log and how it is read ---------------------------------------------------------

@dataclass
class Case:
    lines: list[bytes]
    ending: bytes  # line ending
    final_newline: bool
    fn: str  # "read" or "open"
    batch_size: int
    errors: str
    how: str  # "bytesio", "path", "two-files"
    ids: str | None  # sample node whose passwd/group are given
    table: str = "events"  # or "records" (fn read/open), or "types" (read_record_types)
    prefixes: tuple[str, ...] = ()  # of a "types" case

    def data(self, lines: list[bytes] | None = None) -> bytes:
        lines = self.lines if lines is None else lines
        text = self.ending.join(lines)
        return text + self.ending if self.final_newline and lines else text


def make_case(rng: random.Random, pool: Pool, heavy: bool) -> Case:
    r = rng.random()
    fn, batch_size = ("open", rng.choice((1, 2, 3, 7, 64, 1000))) if r < 0.12 else ("read", 10_000)
    return Case(
        lines=build_log(rng, pool, heavy=heavy),
        ending=b"\r\n" if rng.random() < 0.05 else b"\n",
        final_newline=rng.random() < 0.9,
        fn=fn, batch_size=batch_size,
        errors="raise" if rng.random() < 0.05 else "collect",
        how=rng.choice(("bytesio", "bytesio", "path", "two-files")),
        ids=rng.choice((None, None, None, "node-a", "gap")),
        # drawn last, so that the logs of the events cases stay those of earlier versions
        table=rng.choice(("events",) * 6 + ("records",) * 3 + ("types",)),
        prefixes=rng.choice(TYPE_PREFIXES),
    )


def _read(case: Case, source: Any, log: RejectLog, kw: dict[str, Any]) -> Outcome:
    """The case's reader over ``source`` (on whichever path is switched on)."""
    out = Outcome()
    if case.table == "types":
        out.table = read_record_types(source, case.prefixes)
    elif case.fn == "read":
        fn = read_auditd_records if case.table == "records" else read_auditd
        out.table = fn(source, rejects=log, **kw)
    else:
        gen = open_auditd_records if case.table == "records" else open_auditd
        out.batches = list(gen(source, rejects=log, batch_size=case.batch_size, **kw))
    return out


@dataclass
class Outcome:
    table: pa.Table | None = None
    batches: list[pa.RecordBatch] | None = None
    rejects: list[Any] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    error: tuple[str, str, Any, Any] | None = None


def run(case: Case, lines: list[bytes], python: bool, tmp: Path) -> Outcome:
    data = case.data(lines)
    if case.how == "bytesio":
        source: Any = io.BytesIO(data)
    elif case.how == "path":
        source = tmp / "audit.log"
        source.write_bytes(data)
    else:  # the log cut in two files at a line boundary: events straddle them
        cut = data.find(b"\n", len(data) // 2) + 1 or len(data)
        (tmp / "a.log").write_bytes(data[:cut])
        (tmp / "b.log").write_bytes(data[cut:])
        source = [tmp / "a.log", tmp / "b.log"]
    kw: dict[str, Any] = {"errors": case.errors}
    if case.ids:
        kw["passwd"] = SAMPLES / case.ids / "etc" / "passwd"
        kw["group"] = SAMPLES / case.ids / "etc" / "group"
    log = RejectLog()
    out = Outcome()
    native.Parser = None if python else FAST
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out = _read(case, source, log, kw)
            except Exception as exc:  # noqa: BLE001 - compared between the paths
                out.error = (type(exc).__name__, str(exc), getattr(exc, "file", None),
                             getattr(exc, "line", None))
    finally:
        native.Parser = FAST
    out.rejects = list(log)
    out.warnings = [(w.category.__name__, str(w.message)) for w in caught]
    return out


def _table_difference(a: pa.Table, b: pa.Table) -> str | None:
    if a.equals(b, check_metadata=True):
        return None
    if not a.schema.equals(b.schema, check_metadata=True):
        return f"schema: fast {a.schema.metadata} python {b.schema.metadata}"
    if a.num_rows != b.num_rows:
        return f"rows: fast {a.num_rows} python {b.num_rows}"
    for name in b.column_names:
        if not a[name].equals(b[name]):
            fa, pb = a[name].to_pylist(), b[name].to_pylist()
            i = next((i for i, (x, y) in enumerate(zip(fa, pb)) if x != y), None)
            if i is None:
                return f"column {name}: Arrow layout only"
            return f"column {name}: row {i}: fast {fa[i]!r:.300} python {pb[i]!r:.300}"
    return "tables differ"


def difference(fast: Outcome, py: Outcome) -> tuple[str, str] | None:
    """(kind, detail) of the first difference, or None."""
    if fast.error != py.error:
        return "error", f"fast {fast.error!r:.500}\npython {py.error!r:.500}"
    if (fast.table is None) != (py.table is None):
        return "result", "one path returned a table, the other did not"
    if fast.table is not None and py.table is not None:
        detail = _table_difference(fast.table, py.table)
        if detail:
            return detail.split(":")[0], detail
    if fast.batches is not None and py.batches is not None:
        fs = [b.num_rows for b in fast.batches]
        ps = [b.num_rows for b in py.batches]
        if fs != ps:
            return "batches", f"batch sizes: fast {fs[:20]} python {ps[:20]}"
        for i, (a, b) in enumerate(zip(fast.batches, py.batches)):
            detail = _table_difference(pa.Table.from_batches([a]), pa.Table.from_batches([b]))
            if detail:
                return "batch " + detail.split(":")[0], f"batch {i}: {detail}"
    if fast.rejects != py.rejects:
        i = next((i for i, (x, y) in enumerate(zip(fast.rejects, py.rejects)) if x != y),
                 min(len(fast.rejects), len(py.rejects)))
        fa = fast.rejects[i] if i < len(fast.rejects) else None
        pb = py.rejects[i] if i < len(py.rejects) else None
        return "rejects", (f"{len(fast.rejects)} vs {len(py.rejects)} rejects; #{i}: "
                           f"fast {fa!r:.300} python {pb!r:.300}")
    if fast.warnings != py.warnings:
        return "warnings", f"fast {fast.warnings!r:.500}\npython {py.warnings!r:.500}"
    return None


def check(case: Case, lines: list[bytes], tmp: Path) -> tuple[str, str] | None:
    return difference(run(case, lines, False, tmp), run(case, lines, True, tmp))


def minimise(case: Case, kind: str, tmp: Path, budget: float) -> list[bytes]:
    """Fewest lines (then shortest lines) that still show a difference of the same kind."""
    deadline = time.monotonic() + budget
    lines = list(case.lines)

    def same(candidate: list[bytes]) -> bool:
        got = check(case, candidate, tmp)
        return got is not None and got[0] == kind

    n = 2
    while len(lines) >= 2 and time.monotonic() < deadline:
        size = max(1, len(lines) // n)
        for start in range(0, len(lines), size):
            candidate = lines[:start] + lines[start + size:]
            if candidate and same(candidate):
                lines = candidate
                n = max(n - 1, 2)
                break
        else:
            if size == 1:
                break
            n = min(n * 2, len(lines))
    for i in range(len(lines)):  # shorten each line: drop key=value tokens one at a time
        toks = list(TOKEN.finditer(lines[i]))
        for t in reversed(toks):
            if time.monotonic() > deadline:
                return lines
            line = lines[i]
            cut = line[:t.start()].rstrip(b" ") + line[t.end():]
            candidate = lines[:i] + [cut] + lines[i + 1:]
            if same(candidate):
                lines = candidate
    return lines


def show(case: Case, lines: list[bytes]) -> str:
    if case.table == "types":
        return (f"read_record_types(<{case.how}>, {case.prefixes!r}, line ending "
                f"{case.ending!r}, final newline {case.final_newline})\n"
                + "\n".join(_shown(line) for line in lines))
    what = "auditd_records" if case.table == "records" else "auditd"
    how = (f"{case.fn}_{what}(<{case.how}>, errors={case.errors!r}"
           + (f", batch_size={case.batch_size}" if case.fn == "open" else "")
           + (f", passwd/group of sample node {case.ids}" if case.ids else "")
           + f", line ending {case.ending!r}, final newline {case.final_newline})")
    return how + "\n" + "\n".join(_shown(line) for line in lines)


def _shown(line: bytes) -> str:
    text = line.decode("utf-8", "backslashreplace")
    return text if len(text) <= 2000 else text[:2000] + f"… [{len(text)} chars]"


# -- main ----------------------------------------------------------------------------------------

def case_of(seed: int, i: int, pool: Pool) -> Case:
    rng = random.Random(f"auditd-fuzz/{seed}/{i}")
    heavy = rng.random() < 0.01
    return make_case(rng, pool, heavy)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpora", type=Path)
    ap.add_argument("iterations", type=int, nargs="?", default=2_000)
    ap.add_argument("seed", type=int, nargs="?", default=1)
    ap.add_argument("--keep-going", action="store_true", help="report every mismatch, go on")
    ap.add_argument("--reproducers", type=int, default=1,
                    help="with --keep-going: mismatches of one kind cut down to a reproducer")
    ap.add_argument("--only", type=int, help="print iteration N's log and check it")
    ap.add_argument("--minutes", type=float, help="stop after this long")
    ap.add_argument("--minimise-seconds", type=float, default=60.0)
    args = ap.parse_args()
    if FAST is None:
        raise SystemExit("the auditd C fast path is not compiled")
    if os.environ.get("AUDITLENS_PURE_PYTHON"):
        raise SystemExit("AUDITLENS_PURE_PYTHON is set: nothing to compare")
    pool = Pool(load_seeds(args.corpora))
    if not pool.files:
        raise SystemExit(f"no auditd lines under {args.corpora} or {SAMPLES}")
    seeds = sum(map(len, pool.files))
    crash = Path(tempfile.gettempdir()) / f"fuzz-auditd-{os.getpid()}.log"
    print(f"{seeds} real lines from {len(pool.files)} files; seed {args.seed}; if the process "
          f"dies, the log being read is {crash}", file=sys.stderr, flush=True)
    first, last = (args.only, args.only + 1) if args.only is not None else (0, args.iterations)
    started = time.monotonic()
    found: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as d:
        try:
            done, lines_read = fuzz(args, pool, first, last, found, Path(d), crash)
        finally:  # kept when the process dies (an ASan abort)
            crash.unlink(missing_ok=True)
    took = time.monotonic() - started
    if found:
        print(f"{done} logs ({lines_read} lines) in {took:.0f} s: mismatches {found}")
        raise SystemExit(1)
    print(f"{done} logs ({lines_read} lines) from {seeds} real lines in {took:.0f} s, both paths "
          f"the same: no fault")


def fuzz(args: argparse.Namespace, pool: Pool, first: int, last: int, found: dict[str, int],
         tmp: Path, crash: Path) -> tuple[int, int]:
    """Iterations first..last-1; mismatches are counted in ``found`` (and printed)."""
    deadline = time.monotonic() + args.minutes * 60 if args.minutes else None
    done = lines_read = 0
    for i in range(first, last):
        if deadline is not None and time.monotonic() > deadline:
            break
        case = case_of(args.seed, i, pool)
        crash.write_bytes(f"# seed {args.seed} iteration {i}: {case.table} {case.fn} {case.how} "
                          f"{case.errors}\n".encode() + case.data())
        if args.only is not None:
            print(show(case, case.lines))
        t0 = time.monotonic()
        diff = check(case, case.lines, tmp)
        if time.monotonic() - t0 > 10:
            print(f"iteration {i}: {len(case.lines)} lines took "
                  f"{time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
        done += 1
        lines_read += len(case.lines)
        if diff is None:
            continue
        kind, detail = diff
        found[kind] = found.get(kind, 0) + 1
        if found[kind] > args.reproducers and args.keep_going:
            print(f"MISMATCH ({kind}) at seed {args.seed} iteration {i} (not cut down: "
                  f"--only {i} shows it): {detail.splitlines()[0]:.300}", flush=True)
            continue
        small = minimise(case, kind, tmp, args.minimise_seconds)
        again = check(case, small, tmp)
        print(f"MISMATCH ({kind}) at seed {args.seed} iteration {i}:\n"
              f"{(again or diff)[1]}\n--- reproducer ({len(small)} of {len(case.lines)} "
              f"lines) ---\n{show(case, small)}\n---", flush=True)
        if not args.keep_going:
            break
    return done, lines_read


if __name__ == "__main__":
    main()
