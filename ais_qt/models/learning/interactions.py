"""Networks correcting one another (Ais paper, Figure 3): competition, then colocalize/avoid.

Competition: an absorbing network's value is set to zero wherever any emitting network (other than
itself) is higher. Interactions, in the order the user set: colocalize keeps the child's prediction
only where the parent's prediction, thresholded and dilated by a radius (entered in nm, converted
with the voxel size), is present; avoid keeps it only where that is absent.
All work on one slice at a time (2D), identically in the live overlay, in batch and on the command line.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from psygnal import Signal
from scipy import ndimage

from ais_qt.models.atomic import atomic_path
from ais_qt.models.errors import AisError

KINDS = ("colocalize", "avoid")
FORMAT_NAME = "ais-qt-interactions"


def radius_in_pixels(radius_nm: float, voxel_size_angstrom: float | None) -> float:
    if radius_nm == 0:
        return 0.0
    if not voxel_size_angstrom or voxel_size_angstrom <= 0:
        raise AisError(None, "interaction radii are in nm and need the tomogram's voxel size (set it in the list)")
    return radius_nm * 10.0 / voxel_size_angstrom


def parent_region(parent: np.ndarray, threshold: float, radius_px: float) -> np.ndarray:
    """Where the parent is present: above threshold, grown by radius_px (Euclidean, exact)."""
    mask = parent >= threshold
    if radius_px <= 0 or not mask.any():
        return mask
    return ndimage.distance_transform_edt(~mask) <= radius_px


def colocalize(child: np.ndarray, parent: np.ndarray, threshold: float, radius_px: float) -> np.ndarray:
    return np.where(parent_region(parent, threshold, radius_px), child, 0).astype(child.dtype)


def avoid(child: np.ndarray, parent: np.ndarray, threshold: float, radius_px: float) -> np.ndarray:
    return np.where(parent_region(parent, threshold, radius_px), 0, child).astype(child.dtype)


def compete(predictions: dict[str, np.ndarray], emitters, absorbers) -> dict[str, np.ndarray]:
    """Zero each absorber wherever some other emitter is higher (all judged on the original values)."""
    out = dict(predictions)
    for name in absorbers:
        if name not in predictions:
            continue
        others = [predictions[e] for e in emitters if e != name and e in predictions]
        if others:
            strongest = np.max(others, axis=0)
            out[name] = np.where(strongest > predictions[name], 0, predictions[name]).astype(predictions[name].dtype)
    return out


@dataclass
class Interaction:
    child: str  # feature names of the two networks
    parent: str
    kind: str = "colocalize"
    threshold: float = 0.5
    radius_nm: float = 0.0

    def __post_init__(self):
        if self.kind not in KINDS:
            raise AisError(None, f"interaction kind must be one of {KINDS}, not '{self.kind}'")
        if self.child == self.parent:
            raise AisError(None, f"a network cannot interact with itself ({self.child})")


@dataclass
class InteractionGraph:
    """Nodes are networks by feature name, with emit/absorb roles; edges are ordered interactions."""

    roles: dict[str, dict] = field(default_factory=dict)  # name -> {"emit": bool, "absorb": bool}
    edges: list[Interaction] = field(default_factory=list)

    # The session keeps one graph for its lifetime (views hold it); loading replaces its content.
    changed = Signal()

    def emitters(self) -> list[str]:
        return [n for n, r in self.roles.items() if r.get("emit")]

    def absorbers(self) -> list[str]:
        return [n for n, r in self.roles.items() if r.get("absorb")]

    def apply(self, predictions: dict[str, np.ndarray], voxel_size: float | None) -> dict[str, np.ndarray]:
        """Competition, then interactions in order; networks missing from ``predictions`` are skipped."""
        out = compete(predictions, self.emitters(), self.absorbers())
        for edge in self.edges:
            if edge.child in out and edge.parent in out:
                radius = radius_in_pixels(edge.radius_nm, voxel_size)
                rule = colocalize if edge.kind == "colocalize" else avoid
                out[edge.child] = rule(out[edge.child], out[edge.parent], edge.threshold, radius)
        return out

    # ------------------------------------------------------------- editing
    def nodes(self) -> list[str]:
        """Every network name the graph mentions, in first-mention order."""
        names = list(self.roles)
        for edge in self.edges:
            names += [n for n in (edge.parent, edge.child) if n not in names]
        return names

    def find(self, child: str, parent: str) -> Interaction | None:
        return next((e for e in self.edges if (e.child, e.parent) == (child, parent)), None)

    def set_role(self, name: str, emit: bool | None = None, absorb: bool | None = None) -> None:
        role = self.roles.setdefault(name, {"emit": False, "absorb": False})
        if emit is not None:
            role["emit"] = bool(emit)
        if absorb is not None:
            role["absorb"] = bool(absorb)
        self.changed.emit()

    def add(self, edge: Interaction) -> None:
        """Add an interaction last; one between the same two networks (either way round) is replaced."""
        pair = {edge.child, edge.parent}
        self.edges = [e for e in self.edges if {e.child, e.parent} != pair] + [edge]
        self.changed.emit()

    def update(self, child: str, parent: str, **changes) -> None:
        edge = self.find(child, parent)
        if edge is None:
            raise KeyError(f"no interaction of {child} with {parent}")
        merged = Interaction(**{**asdict(edge), **changes})  # validated like a new one
        self.edges[self.edges.index(edge)] = merged
        self.changed.emit()

    def remove(self, child: str, parent: str) -> None:
        self.edges = [e for e in self.edges if (e.child, e.parent) != (child, parent)]
        self.changed.emit()

    def move(self, child: str, parent: str, steps: int) -> None:
        """Apply an interaction earlier (steps < 0) or later in the order."""
        edge = self.find(child, parent)
        if edge is None:
            return
        index = self.edges.index(edge)
        target = min(max(index + steps, 0), len(self.edges) - 1)
        self.edges.insert(target, self.edges.pop(index))
        self.changed.emit()

    def remove_network(self, name: str) -> None:
        self.roles.pop(name, None)
        self.edges = [e for e in self.edges if name not in (e.child, e.parent)]
        self.changed.emit()

    def restore(self, data: dict, source=None) -> None:
        """Replace the whole graph with a saved one (validated first: a bad file changes nothing)."""
        loaded = InteractionGraph.from_dict(data, source)
        self.roles, self.edges = loaded.roles, loaded.edges
        self.changed.emit()

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        return {"format": FORMAT_NAME, "version": 1, "roles": self.roles, "edges": [asdict(e) for e in self.edges]}

    @classmethod
    def from_dict(cls, data: dict, source=None) -> InteractionGraph:
        try:
            if data.get("format", FORMAT_NAME) != FORMAT_NAME:
                raise ValueError("not an interaction graph")
            roles = {str(k): {"emit": bool(v.get("emit")), "absorb": bool(v.get("absorb"))}
                     for k, v in data.get("roles", {}).items()}
            edges = [Interaction(str(e["child"]), str(e["parent"]), str(e.get("kind", "colocalize")),
                                 float(e.get("threshold", 0.5)), float(e.get("radius_nm", 0.0)))
                     for e in data.get("edges", [])]
        except (AttributeError, KeyError, TypeError, ValueError) as e:
            raise AisError(source, f"is not a valid interaction graph ({e})") from None
        return cls(roles, edges)

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> InteractionGraph:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise AisError(path, "file not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise AisError(path, f"is not valid JSON ({e})") from None
        if not isinstance(data, dict):
            raise AisError(path, "is not a valid interaction graph")
        return cls.from_dict(data, path)
