"""Names for the objects of system calls on an open file (fchown, fchmod, fsetxattr, ftruncate…).

The kernel logs the PATH record of a call on a file descriptor with ``name=(null)``: it knows the
inode and the device, not the path the file was opened by. "alice changed ownership of (nothing)"
is no evidence, so the activity layer names such an object from what the node's log holds, and
says which rule named it (:data:`OBJECT_SOURCES`, in order of preference):

``logged``
    The log gives the name: the object as normalised (PATH name, the command of an execve…),
    else a PATH name the normaliser leaves out (the program a failed execve looked for).
``same-process``
    The same process reached that inode earlier under a name (its open, a rename…). A process is
    a pid with the same parent, session and executable in one boot, with no successful execve of
    that pid in between: a pid reused later is another process and resolves nothing.
``same-inode``
    The nearest sighting of that inode (node, device, inode number, file type) anywhere in the
    log: the name it had just before, else the name it had just after. A path names an inode only
    while it points to it: when the nearest earlier sighting removes the name (nametype DELETE,
    an unlink or the old name of a rename) the inode had lost it, and a later sighting that
    creates the name (CREATE) says it was not the name yet.
``inode-only``
    No name in the log: ``inode 1234 on dev fd:01``.

Events are ordered by time then serial, and every key holds the node, so one table may hold
several nodes. Sorts and binary searches over the PATH items: O(n log n), no loop per event
except for the few relative names joined to their working directory.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from .interpret import NULL_SPELLINGS
from .normalize import absolute

LOGGED = "logged"
SAME_PROCESS = "same-process"
SAME_INODE = "same-inode"
INODE_ONLY = "inode-only"
OBJECT_SOURCES = (LOGGED, SAME_PROCESS, SAME_INODE, INODE_ONLY)
"""The values of the activity table's ``object_source``, most direct first."""

_STR = pa.string()
_EXEC = pa.array(["execve", "execveat"])
_NO_NAME = pa.array(sorted(NULL_SPELLINGS))
_SERIAL_RESET = 1000
"""A serial more than this below the one before it (and less than half of it) starts a new boot:
the kernel numbers events from 0 again after a reboot, while a long system call, stamped when it
began, gets its serial only when it logs, so serials also step back a little."""

Ints = npt.NDArray[np.int64]


def name_objects(events: pa.Table, logged: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, pa.Array]:
    """``(object, object_source)`` for each event of an ``auditd_events`` table.

    ``logged`` is the object the activity layer took from the log; it is kept where it is set.
    Where it is not, a PATH name is taken (the normaliser gives none for a failed execve, say),
    else the first PATH item with an inode but no name is named by the others. Events without
    PATH records have no file object: their source is null.
    """
    n = events.num_rows
    logged = _flat(logged)
    paths = _flat(events["paths"])
    has_file = pc.fill_null(pc.greater(pc.list_value_length(paths), 0), False)
    source = pc.if_else(pc.and_(has_file, pc.is_valid(logged)), pa.scalar(LOGGED, _STR),
                        pa.scalar(None, _STR))
    need = _bools(pc.and_(has_file, pc.is_null(logged)))
    if n == 0 or not need.any():
        return logged, source

    items = pc.list_flatten(paths)
    owner = _ints(pc.list_parent_indices(paths))
    name = pc.struct_field(items, "name")
    has_name = _bools(pc.and_(pc.is_valid(name), pc.invert(pc.is_in(name, _NO_NAME))))
    has_inode = _bools(pc.is_valid(pc.struct_field(items, "inode")))
    # the log names it after all: its first named item, a PARENT only when there is no other
    parent = _bools(pc.equal(pc.struct_field(items, "nametype"), "PARENT"))
    given = np.flatnonzero(has_name & need[owner])
    given = given[np.lexsort((given, parent[given], owner[given]))]
    given = given[np.unique(owner[given], return_index=True)[1]]
    need[owner[given]] = False
    # the first item with an inode but no name, to be named by the others
    targets = np.flatnonzero(~has_name & has_inode & need[owner])
    targets = targets[np.unique(owner[targets], return_index=True)[1]]
    named, how = _resolve(events, items, owner, name, has_name & has_inode, targets)

    rows = np.concatenate([owner[given], owner[targets]])
    values = pa.concat_arrays([_absolute(name.take(pa.array(given)), events["cwd"], owner[given]),
                               named])
    sources = pa.array([LOGGED] * given.size + how, _STR)
    slot = np.full(n, -1, np.int64)
    slot[rows] = np.arange(rows.size)
    take = pa.array(slot, mask=slot < 0)
    return (pc.coalesce(logged, values.take(take)),
            pc.coalesce(source, sources.take(take)))


def _resolve(events: pa.Table, items: pa.Array, owner: Ints, name: pa.Array,
             sighting: npt.NDArray[np.bool_], targets: Ints) -> tuple[pa.Array, list[str]]:
    """Names of the ``targets`` items (inodes without a name) and the rule that named each,
    from the ``sighting`` items (a name and an inode)."""
    if targets.size == 0:
        return pa.array([], _STR), []
    n = events.num_rows
    inode = _ints(pc.struct_field(items, "inode"))
    seen = np.flatnonzero(sighting)
    node = _codes(events["node"])
    pos = _positions(events, node)
    process = _processes(events, node, pos)
    # the inode's identity: node, device, number and file type (a number reused by a file of
    # another type is another file)
    dev = _codes(pc.struct_field(items, "dev"))
    ftype = _codes(pc.utf8_slice_codeunits(pc.struct_field(items, "mode"), 0, -4))
    both = np.concatenate([seen, targets])
    key = _group_ids(node[owner[both]], dev[both], inode[both], ftype[both])
    seen_key, target_key = key[: seen.size], key[seen.size:]
    target_event = owner[targets]
    target_pos = pos[target_event]
    target_process = process[target_event]

    # runs: one per (inode, event) sighting, ordered by inode then time
    order = np.lexsort((seen, pos[owner[seen]], seen_key))
    seen, seen_key = seen[order], seen_key[order]
    seen_pos = pos[owner[seen]]
    start = np.ones(seen.size, bool)
    start[1:] = (seen_key[1:] != seen_key[:-1]) | (seen_pos[1:] != seen_pos[:-1])
    run = np.cumsum(start) - 1
    runs = int(run[-1]) + 1 if run.size else 0
    nametype = pc.struct_field(items, "nametype").take(pa.array(seen))
    after = _pick(run, ~_bools(pc.equal(nametype, "DELETE")), runs, last=True)
    before = _pick(run, ~_bools(pc.equal(nametype, "CREATE")), runs, last=False)
    run_key, run_pos = seen_key[start], seen_pos[start]
    run_process = process[owner[seen[start]]]

    span = n + 1
    got = np.full(targets.size, -1, np.int64)
    how = np.full(targets.size, INODE_ONLY, object)
    # same process: the name after its nearest earlier sighting of the inode (this event too)
    pkey = _group_ids(np.concatenate([run_key, target_key]),
                      np.concatenate([run_process, target_process]))
    run_pkey, target_pkey = pkey[:runs], pkey[runs:]
    by_process = np.lexsort((run_pos, run_pkey))
    at = _earlier(run_pkey[by_process] * span + run_pos[by_process], target_pkey * span + target_pos)
    hit = (at >= 0) & (target_process >= 0)
    hit[hit] &= run_pkey[by_process[at[hit]]] == target_pkey[hit]
    got[hit] = after[by_process[at[hit]]]
    how[got >= 0] = SAME_PROCESS
    # same inode: the name after the nearest earlier sighting, else the one before the next
    todo = got < 0
    at = _earlier(run_key * span + run_pos, target_key * span + target_pos)
    hit = todo & (at >= 0)
    hit[hit] &= run_key[at[hit]] == target_key[hit]
    got[hit] = after[at[hit]]
    nxt = at + 1
    hit = (got < 0) & (nxt < runs)
    hit[hit] &= run_key[nxt[hit]] == target_key[hit]
    got[hit] = before[nxt[hit]]
    how[todo & (got >= 0)] = SAME_INODE

    names = _absolute(name.take(pa.array(seen)), events["cwd"], owner[seen])
    resolved = names.take(pa.array(got, mask=got < 0))
    devs = pc.struct_field(items, "dev").take(pa.array(targets)).to_pylist()
    bare = [f"inode {i} on dev {d}" if d else f"inode {i}" for i, d in zip(inode[targets], devs)]
    return pc.coalesce(resolved, pa.array(bare, _STR)), how.tolist()


def _positions(events: pa.Table, node: Ints) -> Ints:
    """Each event's rank by node, time, serial: the order of what happened on a node."""
    time = _ints(pc.cast(events["time"], pa.int64()), 0)
    order = np.lexsort((_ints(events["serial"], 0), time, node))
    pos = np.empty(order.size, np.int64)
    pos[order] = np.arange(order.size)
    return pos


def _processes(events: pa.Table, node: Ints, pos: Ints) -> Ints:
    """An id per process image: node, boot, pid, ppid, session, executable and the number of
    successful execves of that pid so far (-1 for events without a pid)."""
    n = events.num_rows
    serial = _ints(events["serial"], 0)
    order = np.argsort(pos)
    ns, ss = node[order], serial[order]
    step = np.ones(n, bool)
    drop = ss[:-1] - ss[1:]
    step[1:] = (ns[1:] != ns[:-1]) | ((drop > _SERIAL_RESET) & (drop > ss[:-1] // 2))
    boot = np.empty(n, np.int64)
    boot[order] = np.cumsum(step)

    pid = _ints(events["pid"])
    execs = _bools(pc.and_(pc.is_in(events["syscall"], _EXEC), events["success"])).astype(np.int64)
    order = np.lexsort((pos, pid, boot))
    first = np.ones(n, bool)
    first[1:] = (pid[order][1:] != pid[order][:-1]) | (boot[order][1:] != boot[order][:-1])
    count = np.cumsum(execs[order])
    base = (count - execs[order])[first][np.cumsum(first) - 1]
    image = np.empty(n, np.int64)
    image[order] = count - base
    ids = _group_ids(boot, pid, _ints(events["ppid"]), _ints(events["session"]),
                     _codes(events["exe"]), image)
    return np.where(pid >= 0, ids, -1)


def _earlier(keys: Ints, wanted: Ints) -> Ints:
    """Index of the last of the sorted ``keys`` at or before each wanted key (-1: none)."""
    return np.searchsorted(keys, wanted, side="right").astype(np.int64) - 1


def _pick(run: Ints, ok: npt.NDArray[np.bool_], runs: int, *, last: bool) -> Ints:
    """Per run, the first (or last) index whose ``ok`` is true; -1 when none is."""
    out = np.full(runs, -1, np.int64)
    idx = np.flatnonzero(ok)
    if last:
        idx = idx[::-1]
    found, at = np.unique(run[idx], return_index=True)
    out[found] = idx[at]
    return out


def _absolute(names: pa.Array, cwd: pa.ChunkedArray | pa.Array, owner: Ints) -> pa.Array:
    """Relative PATH names joined to their event's working directory, as the object is shown."""
    relative = np.flatnonzero(~_bools(pc.starts_with(names, "/")))
    if relative.size == 0:
        return names
    values = names.take(pa.array(relative)).to_pylist()
    dirs = _flat(cwd).take(pa.array(owner[relative])).to_pylist()
    joined = pa.array([absolute(v, d) for v, d in zip(values, dirs)], _STR)
    mask = np.zeros(len(names), bool)
    mask[relative] = True
    return pc.replace_with_mask(names, pa.array(mask), joined)


def _group_ids(*keys: Ints) -> Ints:
    """One id per distinct combination of the key columns (equal rows get equal ids)."""
    n = keys[0].size
    ids = np.empty(n, np.int64)
    if n == 0:
        return ids
    order = np.lexsort(keys[::-1])
    rows = np.stack([k[order] for k in keys])
    new = np.ones(n, bool)
    new[1:] = (rows[:, 1:] != rows[:, :-1]).any(axis=0)
    ids[order] = np.cumsum(new) - 1
    return ids


def _flat(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _codes(values: pa.Array | pa.ChunkedArray) -> Ints:
    """Integer codes of the values (null: -1), for keys."""
    encoded = pc.dictionary_encode(_flat(values))
    return _ints(encoded.indices)


def _ints(values: pa.Array | pa.ChunkedArray, missing: int = -1) -> Ints:
    filled = pc.fill_null(_flat(values), missing)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=np.int64)


def _bools(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.bool_]:
    filled = pc.fill_null(_flat(values), False)
    return np.asarray(filled.to_numpy(zero_copy_only=False), dtype=bool)
