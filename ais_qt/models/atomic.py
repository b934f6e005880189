"""Atomic saves: write a temporary file beside the target, flush it to disk, then rename over it.

A crash or kill during the write leaves the previous file untouched; a rename on the same file
system is atomic on Linux and Windows (os.replace).
"""

from __future__ import annotations

import contextlib
import glob
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from ais_qt.models.errors import AisError
from ais_qt.models.paths import long_path, on_windows


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``, on error it is removed."""
    target = Path(target)
    # The name keeps the target's suffixes (e.g. .mrc) so writers that look at them behave.
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.partial{''.join(target.suffixes[-1:])}")
    try:
        yield tmp
        _fsync(tmp)
        replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


REPLACE_TRIES = 8


def replace(tmp: Path, target: Path, windows: bool | None = None, wait: float = 0.1) -> None:
    """os.replace, retried on Windows: there a file that a program holds open (a viewer, a virus
    scanner reading the new file, a memory map in this app) cannot be replaced until it lets go,
    usually within a second. If it never does, the old file stays as it was and the message says why."""
    windows = on_windows() if windows is None else windows
    for attempt in range(REPLACE_TRIES if windows else 1):
        try:
            os.replace(long_path(tmp), long_path(target))
            return
        except PermissionError:
            if not windows:
                raise
            if attempt == REPLACE_TRIES - 1:
                raise AisError(target, "is open in another program (or in this one's Render or Pick tab) and "
                                       "cannot be replaced: close it there and try again; the file is unchanged") from None
            time.sleep(wait * (attempt + 1))


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
