"""Per-user folders, without Qt (the command line and cluster workers use them too)."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_dir() -> Path:
    """$AIS_QT_CACHE_DIR, else the platform's user cache folder: the sample, recovery files."""
    if os.environ.get("AIS_QT_CACHE_DIR"):
        return Path(os.environ["AIS_QT_CACHE_DIR"])
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "ais-qt"


def user_config_dir() -> Path:
    """$AIS_QT_CONFIG_DIR, else the platform's per-user configuration folder."""
    if os.environ.get("AIS_QT_CONFIG_DIR"):
        return Path(os.environ["AIS_QT_CONFIG_DIR"])
    if os.name == "nt":
        base = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming"))
    else:
        base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "ais-qt"


def default_plugin_folder() -> Path:
    """Where users drop architecture files (shown and changeable in Preferences)."""
    return user_config_dir() / "plugins"
