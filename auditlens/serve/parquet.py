"""Closed receiver files converted to the Parquet dataset ``auditlens parse --partition
cluster,date`` writes: ``PARQUET/cluster=<source>/date=<YYYY-MM-DD>/<file>-<n>.parquet``.

Each closed JSON-lines file is read with the Kubernetes reader (its source named as the
cluster) and written with :func:`auditlens.dataset.write_partitioned` into a temporary folder
beside the dataset, whose files are then renamed into place under the closed file's own name:
``write_partitioned`` names its files ``part-N``, which the next file would overwrite. The
JSON lines stay the record of what was received; the Parquet copy is for queries (DuckDB,
Spark, pyarrow). Converted files are listed in ``OUT/.auditlens-serve/parquet.done``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa

from ..dataset import write_partitioned
from ..rejects import RejectLog
from .store import STATE_DIR

__all__ = ["ParquetCopier"]

DONE_FILE = "parquet.done"


class ParquetCopier:
    """Converts the closed files of a receiver's directory ``out`` into ``dataset``."""

    def __init__(self, out: str | os.PathLike[str], dataset: str | os.PathLike[str]) -> None:
        self.out = Path(out)
        self.dataset = Path(dataset)
        self.done_file = self.out / STATE_DIR / DONE_FILE
        try:
            self.done = set(self.done_file.read_text().splitlines())
        except FileNotFoundError:
            self.done = set()

    def pending(self, closed: list[Path]) -> list[Path]:
        return [p for p in closed if str(p.relative_to(self.out)) not in self.done]

    def convert(self, path: Path) -> int:
        """Convert one closed file; the number of events written."""
        from ..k8s.reader import open_k8s_audit
        from ..schema import K8S_EVENTS

        source = path.relative_to(self.out).parts[0]
        rejects = RejectLog()
        counted = [0]

        def batches() -> Iterator[pa.RecordBatch]:
            for batch in open_k8s_audit(str(path), rejects=rejects, cluster=source):
                counted[0] += batch.num_rows
                yield batch

        tmp = self.dataset / f".tmp-{path.stem}"
        shutil.rmtree(tmp, ignore_errors=True)
        write_partitioned(batches(), K8S_EVENTS.arrow, str(tmp), "cluster,date")
        for part in sorted(tmp.rglob("*.parquet")):
            rel = part.parent.relative_to(tmp)
            (self.dataset / rel).mkdir(parents=True, exist_ok=True)
            os.replace(part, self.dataset / rel / f"{path.stem}-{part.stem.rpartition('-')[2]}.parquet")
        shutil.rmtree(tmp, ignore_errors=True)
        with open(self.done_file, "a", encoding="utf-8") as f:
            f.write(str(path.relative_to(self.out)) + "\n")
        self.done.add(str(path.relative_to(self.out)))
        return counted[0]
