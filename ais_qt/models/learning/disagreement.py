"""Where a network and the annotation disagree on a slice, so the next box goes where it helps most.

Inside the slice's training boxes the annotation is the truth: pixels the network marks that are
not annotated, and annotated pixels it misses. Outside the boxes nothing is known, so what is shown
there is where the network is unsure (its probability near its threshold): the places a box would
teach it most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

AGREE, NETWORK_ONLY, ANNOTATION_ONLY, UNSURE = 0, 1, 2, 3
UNSURE_BAND = 0.15  # probabilities within this of the threshold count as unsure


@dataclass
class Disagreement:
    codes: np.ndarray  # (Y, X) uint8: AGREE, NETWORK_ONLY, ANNOTATION_ONLY or UNSURE
    boxed: int  # pixels inside the boxes
    network_only: int
    annotation_only: int

    @property
    def fraction(self) -> float:
        """Share of the boxed pixels where the two disagree."""
        return (self.network_only + self.annotation_only) / self.boxed if self.boxed else 0.0

    def summary(self) -> str:
        if not self.boxed:
            return "no boxes on this slice: white shows where the network is unsure"
        return (f"{100 * self.fraction:.1f}% of the boxes disagree: {self.network_only} px found by the network "
                f"only (magenta), {self.annotation_only} px annotated only (cyan); white: unsure outside the boxes")


def boxes_mask(annotation, z: int) -> np.ndarray:
    """Pixels of slice z inside any training box (of any feature)."""
    mask = np.zeros(annotation.slice_shape, bool)
    for box in annotation.boxes_on(z):
        y0, y1, x0, x1 = box.rect
        mask[y0:y1, x0:x1] = True
    return mask


def disagreement(probabilities: np.ndarray, threshold: float, annotated: np.ndarray | None,
                 boxed: np.ndarray) -> Disagreement:
    """Compare a network's probabilities (0..1) of a slice with the annotation of its feature."""
    found = probabilities >= threshold
    truth = annotated if annotated is not None else np.zeros(found.shape, bool)
    codes = np.zeros(found.shape, np.uint8)
    network_only = found & ~truth & boxed
    annotation_only = truth & ~found & boxed
    codes[network_only] = NETWORK_ONLY
    codes[annotation_only] = ANNOTATION_ONLY
    codes[~boxed & (np.abs(probabilities - threshold) < UNSURE_BAND)] = UNSURE
    return Disagreement(codes, int(boxed.sum()), int(network_only.sum()), int(annotation_only.sum()))
