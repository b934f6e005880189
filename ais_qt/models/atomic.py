"""Atomic saves: write a temporary file beside the target, flush it to disk, then rename over it.

A crash or kill during the write leaves the previous file untouched; a rename on the same file
system is atomic on Linux and Windows (os.replace).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``, on error it is removed."""
    target = Path(target)
    # The name keeps the target's suffixes (e.g. .mrc) so writers that look at them behave.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial{''.join(target.suffixes[-1:])}")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _fsync(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
