"""Per-user folders, without Qt (the command line and cluster workers use them too)."""

from __future__ import annotations

import os
from pathlib import Path


def _user_dir(override: str, windows: tuple[str, str], xdg: tuple[str, str]) -> Path:
    """$override, else the platform's folder: %windows[0]% or ~/windows[1] on Windows, $xdg[0] or ~/xdg[1] elsewhere."""
    if os.environ.get(override):
        return Path(os.environ[override])
    variable, fallback = windows if os.name == "nt" else xdg
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
