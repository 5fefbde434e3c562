"""The mutation the fast-path fuzzers share: a real line with bytes cut, pieces inserted and its
end cut off, one to six times."""

from __future__ import annotations

import random


def mutated(rng: random.Random, seeds: list[bytes], pieces: bytes) -> bytes:
    """A copy of one of ``seeds``, damaged: runs of ``pieces`` (JSON punctuation, escapes, bad
    UTF-8, the keys a builder looks for) inserted, bytes deleted, the end truncated."""
    line = bytearray(rng.choice(seeds))
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(len(line) + 1)
        op = rng.random()
        if op < 0.4:
            del line[at:at + rng.randint(1, 8)]
        elif op < 0.8:
            k = rng.randrange(len(pieces))
            line[at:at] = pieces[k:k + rng.randint(1, 12)]
        else:
            del line[at:]
    return bytes(line)
