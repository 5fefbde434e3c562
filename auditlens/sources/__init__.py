"""Finding and opening inputs: files, directories, globs, lists, file objects and stdin.

Every reader accepts the same ``source`` forms and gets back an ordered list of
:class:`InputFile`. Compression is recognised from the first bytes (collectors often gzip
rotated logs without renaming them), not from the file name.
"""

from __future__ import annotations

from .compression import open_decompressed
from .inputs import InputFile, Source, bytes_on_disk, expand_sources, release
from .lines import READ_ERRORS, iter_lines, line_chunks

__all__ = ["READ_ERRORS", "InputFile", "Source", "bytes_on_disk", "expand_sources", "iter_lines", "line_chunks",
           "open_decompressed", "release"]
