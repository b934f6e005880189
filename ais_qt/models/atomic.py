"""Atomic saves: write a temporary file beside the target, flush it to disk, then rename over it.

A crash or kill during the write leaves the previous file untouched; a rename on the same file
system is atomic on Linux and Windows (os.replace).
"""

from __future__ import annotations

import contextlib
import glob
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


def remove_partials(target: str | os.PathLike) -> list[Path]:
    """Remove the half-written temporaries of ``target`` that a killed writer left (a kill -9 runs no
    clean-up). Call it only where no other writer of the same target can be running: the owner of a
    batch run, or its one task for that output."""
    target = Path(target)
    removed = []
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.partial{''.join(target.suffixes[-1:])}"):
        with contextlib.suppress(OSError):
            stale.unlink()
            removed.append(stale)
    return removed
