"""Features (Membrane, Ribosome, ...): the things users annotate and train networks for.

One FeatureSet per session, shared by every tomogram, so "Membrane" in two tomograms is one feature.
"""

from __future__ import annotations

from dataclasses import dataclass

from psygnal import Signal, evented

# Distinct, colour-blind-friendly-ish colours (Okabe-Ito first, then extras).
PALETTE = ("#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7",
           "#ff4f6e", "#8fd14f", "#9b6dff", "#00d1c1", "#ffffff")
DEFAULT_NAMES = ("Membrane", "Ribosome", "Microtubule", "Actin", "Carbon", "Void")


@evented
@dataclass(eq=False)  # identity, not value: two features may share a name while being renamed
class Feature:
    id: int
    name: str
    colour: str = PALETTE[0]
    opacity: float = 0.5
    visible: bool = True


class FeatureSet:
    added = Signal(object, int)  # feature, index
    removed = Signal(object, int)  # feature, former index
    active_changed = Signal(object)  # Feature or None

    def __init__(self):
        self.features: list[Feature] = []
        self._active: Feature | None = None
        self._next_id = 1

    def __iter__(self):
        return iter(self.features)

    def __len__(self):
        return len(self.features)

    def new(self, name: str | None = None, colour: str | None = None) -> Feature:
        """A fresh feature with an unused id, name and colour (not yet added)."""
        used = {f.name for f in self.features}
        if name is None:
            name = next((n for n in DEFAULT_NAMES if n not in used), None)
            k = len(self.features) + 1
            while name is None or name in used:
                name, k = f"Feature {k}", k + 1
        if colour is None:
            taken = {f.colour for f in self.features}
            colour = next((c for c in PALETTE if c not in taken), PALETTE[len(self.features) % len(PALETTE)])
        feature = Feature(self._next_id, name, colour)
        self._next_id += 1
        return feature

    def insert(self, feature: Feature, index: int | None = None) -> None:
        index = len(self.features) if index is None else index
        self.features.insert(index, feature)
        self._next_id = max(self._next_id, feature.id + 1)
        self.added.emit(feature, index)
        if self._active is None:
            self.active = feature

    def remove(self, feature: Feature) -> int:
        index = self.features.index(feature)
        self.features.remove(feature)
        if feature is self._active:
            self.active = self.features[min(index, len(self.features) - 1)] if self.features else None
        self.removed.emit(feature, index)
        return index

    def clear(self) -> None:
        for feature in list(self.features):
            self.remove(feature)
        self._next_id = 1

    def by_id(self, feature_id: int) -> Feature | None:
        return next((f for f in self.features if f.id == feature_id), None)

    def by_name(self, name: str) -> Feature | None:
        return next((f for f in self.features if f.name == name), None)

    @property
    def active(self) -> Feature | None:
        return self._active

    @active.setter
    def active(self, feature: Feature | None) -> None:
        if feature is not None and feature not in self.features:
            raise ValueError("not a feature of this set")
        if feature is not self._active:
            self._active = feature
            self.active_changed.emit(feature)

    def select_index(self, index: int) -> None:
        if 0 <= index < len(self.features):
            self.active = self.features[index]

    def cycle(self, step: int = 1) -> None:
        if self.features:
            current = self.features.index(self._active) if self._active in self.features else -1
            self.active = self.features[(current + step) % len(self.features)]
