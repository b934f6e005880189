"""Code paths that differ on Windows, tested here with Windows' rules (ntpath, os.name, a file that
cannot be replaced while open): the installers' users are on Windows as much as on Linux."""

from __future__ import annotations

import os
from pathlib import Path, PureWindowsPath

import pytest

from ais_qt.models import atomic, paths
from ais_qt.models.errors import AisError
from ais_qt.models.learning.segmentation import output_path, split_output_name, volume_stem


def test_cache_and_settings_folders_are_in_appdata_on_windows(monkeypatch):
    monkeypatch.delenv("AIS_QT_CACHE_DIR", raising=False)
    monkeypatch.delenv("AIS_QT_CONFIG_DIR", raising=False)
    monkeypatch.setattr(paths, "on_windows", lambda: True)
    monkeypatch.setenv("LOCALAPPDATA", r"C:\Users\ana\AppData\Local")
    monkeypatch.setenv("APPDATA", r"C:\Users\ana\AppData\Roaming")
    assert str(paths.user_cache_dir()).replace("/", "\\") == r"C:\Users\ana\AppData\Local\ais-qt"
    assert str(paths.user_config_dir()).replace("/", "\\") == r"C:\Users\ana\AppData\Roaming\ais-qt"
    monkeypatch.setenv("AIS_QT_CACHE_DIR", r"D:\scratch\cache")  # an override wins everywhere
    assert str(paths.user_cache_dir()) == r"D:\scratch\cache"


def test_drive_letter_and_backslash_paths_name_outputs_the_same_way():
    tomogram = PureWindowsPath(r"C:\Users\ana\Tomograms\TS_01.rec")
    assert volume_stem(tomogram) == "TS_01" and volume_stem(PureWindowsPath(r"\\lab-nas\cryo\TS 02.mrc.gz")) == "TS 02"
    assert split_output_name(PureWindowsPath(r"D:\out\TS_01__Ribosome.mrc")) == ("TS_01", "Ribosome")
    assert output_path(tomogram, "Membrane / outer", Path("out")).name == "TS_01__Membrane_outer.mrc"


@pytest.mark.parametrize("prefix, expected_start", [
    ("C:/data/", "\\\\?\\C:\\data\\"),
    ("\\\\lab-nas\\cryo\\", "\\\\?\\UNC\\lab-nas\\cryo\\"),
])
def test_long_windows_paths_get_the_extended_length_prefix(prefix, expected_start):
    deep = prefix + "/".join(["session_2026_11_27_grid_3_square_12"] * 8) + "/TS_01__Ribosome.mrc"
    assert len(deep) >= paths.WINDOWS_MAX_PATH
    long = paths.long_path(deep, windows=True)
    assert long.startswith(expected_start) and "/" not in long and long.endswith("\\TS_01__Ribosome.mrc")
    assert paths.long_path(long, windows=True) == long  # already extended: unchanged
    short = "C:/data/TS_01.mrc"
    assert paths.long_path(short, windows=True) == short  # below MAX_PATH: as given
    assert paths.long_path(deep, windows=False) == deep  # Linux, macOS: never changed


def test_a_file_held_open_elsewhere_is_replaced_once_let_go_or_left_unchanged(tmp_path, monkeypatch):
    """Windows refuses to replace a file another program has open (PermissionError) until it lets go."""
    target = tmp_path / "TS_01__Membrane.mrc"
    target.write_bytes(b"old")
    real_replace, refusals = os.replace, []

    def held_twice(src, dst):
        if len(refusals) < 2:
            refusals.append(dst)
            raise PermissionError(13, "The process cannot access the file because it is being used by another process")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", held_twice)
    tmp = tmp_path / "new"
    tmp.write_bytes(b"new")
    atomic.replace(tmp, target, windows=True, wait=0.001)
    assert target.read_bytes() == b"new" and len(refusals) == 2

    def held(src, dst):
        raise PermissionError(13, "in use")

    monkeypatch.setattr(os, "replace", held)
    monkeypatch.setattr(atomic, "on_windows", lambda: True)
    monkeypatch.setattr(atomic, "REPLACE_TRIES", 3)  # of 0.1, 0.2, 0.3 s
    with pytest.raises(AisError, match="TS_01__Membrane.mrc: is open in another program"):
        with atomic.atomic_path(target) as partial:
            partial.write_bytes(b"newer")
    assert target.read_bytes() == b"new"  # what was saved is kept
    assert not list(tmp_path.glob(".*partial*"))  # and the attempt leaves nothing behind
    with pytest.raises(PermissionError):  # on Linux a refusal is a real permission problem: no retrying
        atomic.replace(tmp, target, windows=False)


def test_child_processes_are_spawned_as_windows_must(monkeypatch):
    """Windows has no fork: the 3D renderer and Dask's worker processes start by spawn everywhere, so
    what runs on Linux is what runs on Windows (and in the frozen app, through freeze_support)."""
    import multiprocessing

    import dask
    import distributed  # noqa: F401  (its defaults join dask's configuration on import)

    from ais_qt.views import render_process

    asked = []
    real = multiprocessing.get_context
    monkeypatch.setattr(multiprocessing, "get_context", lambda method=None: asked.append(method) or real(method))
    client = render_process.RenderClient()
    try:
        client._start()
        assert asked == ["spawn"] and client.running
    finally:
        client.close()
    assert dask.config.get("distributed.worker.multiprocessing-method") == "spawn"
