"""Per-user folders, without Qt (the command line and cluster workers use them too)."""

from __future__ import annotations

import os
from pathlib import Path


def on_windows() -> bool:
    return os.name == "nt"


def _user_dir(override: str, windows: tuple[str, str], xdg: tuple[str, str]) -> Path:
    """$override, else the platform's folder: %windows[0]% or ~/windows[1] on Windows, $xdg[0] or ~/xdg[1] elsewhere."""
    if os.environ.get(override):
        return Path(os.environ[override])
    variable, fallback = windows if on_windows() else xdg
    return Path(os.environ.get(variable, Path.home() / fallback)) / "ais-qt"


def user_cache_dir() -> Path:
    """$AIS_QT_CACHE_DIR, else the platform's user cache folder: the sample, recovery files."""
    return _user_dir("AIS_QT_CACHE_DIR", ("LOCALAPPDATA", "AppData/Local"), ("XDG_CACHE_HOME", ".cache"))


def user_config_dir() -> Path:
    """$AIS_QT_CONFIG_DIR, else the platform's per-user configuration folder."""
    return _user_dir("AIS_QT_CONFIG_DIR", ("APPDATA", "AppData/Roaming"), ("XDG_CONFIG_HOME", ".config"))


def default_plugin_folder() -> Path:
    """Where users drop architecture files (shown and changeable in Preferences)."""
    return user_config_dir() / "plugins"


WINDOWS_MAX_PATH = 260


def long_path(path: str | os.PathLike, windows: bool | None = None) -> str:
    """The path as the operating system's file functions should get it. On Windows, an absolute path
    of MAX_PATH (260) characters or more gets the extended-length prefix (\\\\?\\, or \\\\?\\UNC\\ for a
    network share), which Win32 accepts beyond MAX_PATH even where long paths are not enabled for the
    whole system; deep cluster folders and long tomogram names reach it. Elsewhere it is unchanged."""
    import ntpath

    text = os.fspath(path)
    windows = on_windows() if windows is None else windows
    if not windows or len(text) < WINDOWS_MAX_PATH or text.startswith("\\\\?\\"):
        return text
    # The prefix turns off Windows' own normalisation: give it a full path with backslashes only.
    text = ntpath.normpath(ntpath.abspath(text) if on_windows() else text)
    if text.startswith("\\\\"):
        return "\\\\?\\UNC\\" + text[2:]
    return "\\\\?\\" + text
