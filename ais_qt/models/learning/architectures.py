"""The architecture library: built-in networks plus user plugins following the DESIGN.md template.

A plugin is a ``.py`` file in the user's plugin folder defining ``title``, ``params`` (defaults;
their types are the parameter types) and ``create(tile_size, **params) -> keras.Model``; optional:
``fully_convolutional`` (default True) and ``discriminator(tile_size, **params)`` for adversarial
training. A plugin that fails to import or misses a piece is reported and skipped.
Built-ins are imported by name from a static list, so frozen (PyInstaller) builds include them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ais_qt.models.errors import AisError

BUILTIN_MODULES = ("unet", "unet_light", "vggnet", "resnet", "inceptionnet", "eman2", "pix2pix")
DEFAULT_ARCHITECTURE = "unet"


@dataclass(frozen=True)
class Architecture:
    key: str  # module name; stored in model files
    title: str
    params: dict
    module: ModuleType
    builtin: bool

    @property
    def fully_convolutional(self) -> bool:
        return bool(getattr(self.module, "fully_convolutional", True))

    @property
    def adversarial(self) -> bool:
        return callable(getattr(self.module, "discriminator", None))

    @property
    def doc(self) -> str:
        return (self.module.__doc__ or "").strip()

    def checked_params(self, given: dict | None) -> dict:
        """Defaults overridden by ``given``, each converted to its default's type."""
        merged = dict(self.params)
        for name, value in (given or {}).items():
            if name not in self.params:
                raise AisError(None, f"{self.title} has no parameter '{name}' (it has: {', '.join(self.params)})")
            kind = type(self.params[name])
            try:
                merged[name] = _convert(value, kind)
            except (TypeError, ValueError):
                raise AisError(None, f"{self.title} parameter '{name}' must be {kind.__name__}, not {value!r}") from None
        return merged

    def create(self, tile_size: int, params: dict | None = None):
        return self.module.create(tile_size, **self.checked_params(params))

    def create_discriminator(self, tile_size: int, params: dict | None = None):
        return self.module.discriminator(tile_size, **self.checked_params(params))

    def multiple(self, params: dict | None = None) -> int:
        """Input sides must be multiples of this (2**depth for the encoder-decoders)."""
        p = self.checked_params(params)
        return 2 ** int(p["depth"]) if "depth" in p else 2


def _convert(value, kind):
    if kind is bool:
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "on")
        return bool(value)
    return kind(value)


class ArchitectureLibrary:
    def __init__(self, plugin_folder: str | Path | None = None):
        self.architectures: dict[str, Architecture] = {}
        self.problems: list[str] = []  # plugins that were skipped, and why
        for name in BUILTIN_MODULES:
            module = importlib.import_module(f"ais_qt.archs.{name}")
            self.architectures[name] = self._describe(name, module, builtin=True)
        if plugin_folder:
            self.load_plugins(Path(plugin_folder))

    def load_plugins(self, folder: Path) -> None:
        if not folder.is_dir():
            return
        for path in sorted(folder.glob("*.py")):
            key = f"plugin_{path.stem}"
            try:
                spec = importlib.util.spec_from_file_location(f"ais_qt_plugins.{path.stem}", path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[spec.name] = module
                spec.loader.exec_module(module)
                self.architectures[key] = self._describe(key, module, builtin=False)
            except Exception as e:  # a user's file may raise anything; it must not take the app down
                last = traceback.extract_tb(e.__traceback__)[-1] if e.__traceback__ else None
                where = f" (line {last.lineno})" if last and last.filename == str(path) else ""
                self.problems.append(f"{path}: skipped, {type(e).__name__}: {e}{where}")

    @staticmethod
    def _describe(key: str, module: ModuleType, builtin: bool) -> Architecture:
        title = getattr(module, "title", None)
        params = getattr(module, "params", None)
        if not isinstance(title, str) or not title:
            raise ValueError("it defines no 'title' string")
        if not isinstance(params, dict):
            raise ValueError("it defines no 'params' dictionary")
        if not callable(getattr(module, "create", None)):
            raise ValueError("it defines no create(tile_size, **params) function")
        return Architecture(key, title, dict(params), module, builtin)

    def get(self, key: str) -> Architecture:
        if key not in self.architectures:
            known = ", ".join(a.title for a in self.architectures.values())
            raise AisError(None, f"unknown architecture '{key}' (available: {known})")
        return self.architectures[key]

    def find(self, key_or_title: str) -> Architecture:
        """By key ('unet') or title ('UNet'), case-insensitive; the command line uses this."""
        wanted = key_or_title.strip().lower()
        for arch in self.architectures.values():
            if wanted in (arch.key.lower(), arch.title.lower()):
                return arch
        return self.get(key_or_title)

    def __iter__(self):
        return iter(self.architectures.values())
