"""Calibration after training: make probability 0.5 (128 in written volumes) the decision boundary.

A network trained on few, imbalanced tiles is often under- or over-confident: its best threshold
may be 0.2 or 0.8, and a user who keeps the default 0.5 sees nothing, or everything. After training,
the Dice-best threshold t* is measured on held-back tiles and the output layer's bias is shifted by
-logit(t*): sigmoid(z - logit(t*)) crosses 0.5 exactly where sigmoid(z) crossed t*. The map is
monotonic and lives in the weights, so the live slider, `ais-qt pick`'s 128 and every other tool
that reads our volumes are right without knowing which network made them, and no file format
changes. A network whose last layer cannot take the shift keeps t* as its threshold instead.
"""

from __future__ import annotations

import math

import numpy as np

# Candidate thresholds: finer near the ends, where under-confident networks put their boundary.
GRID = np.unique(np.concatenate([np.linspace(0.02, 0.98, 49), [0.01, 0.99]]))
MAX_SHIFT = 6.0  # logits; beyond this the held-back tiles say too little to trust the estimate


def predict_tiles(model, x: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Probabilities for many tiles, predict_on_batch per chunk: Keras' predict() costs ~0.1 s of
    set-up per call (too much live), and on the handed-out model it left TensorFlow hanging when the
    live overlay then used it. Network.predict and the post-training checks both use this."""
    chunks = [np.asarray(model.predict_on_batch(x[i:i + batch_size]), np.float32)
              for i in range(0, len(x), batch_size)]
    return np.concatenate(chunks) if chunks else np.zeros(x.shape, np.float32)


def dice_at(truth: np.ndarray, probability: np.ndarray, thresholds: np.ndarray, valid=None) -> np.ndarray:
    """Dice of (probability > t) against truth for each t, over the valid pixels (all by default)."""
    t = truth.ravel() > 0.5
    p = probability.ravel()
    if valid is not None:
        keep = valid.ravel()
        t, p = t[keep], p[keep]
    order = np.sort(p)
    pos = np.sort(p[t])
    predicted = len(order) - np.searchsorted(order, thresholds, side="right")
    hits = len(pos) - np.searchsorted(pos, thresholds, side="right")
    return 2 * hits / np.maximum(predicted + t.sum(), 1)


def best_threshold(truth: np.ndarray, probability: np.ndarray, valid=None) -> tuple[float, float]:
    """(threshold, Dice there) maximising Dice; the middle of a plateau of equal Dice."""
    scores = dice_at(truth, probability, GRID, valid)
    top = np.flatnonzero(scores >= scores.max() - 1e-9)
    pick = top[len(top) // 2]
    return float(GRID[pick]), float(scores[pick])


def output_layer(model):
    """The last layer, when it is a sigmoid layer with a bias that a shift can move; else None."""
    layer = model.layers[-1]
    activation = getattr(getattr(layer, "activation", None), "__name__", "")
    bias = getattr(layer, "bias", None)
    return layer if activation == "sigmoid" and bias is not None else None


def calibrate(model, x: np.ndarray, y: np.ndarray, valid=None, batch_size: int = 32) -> dict:
    """Shift ``model``'s output so that 0.5 is its Dice-best threshold on (x, y); returns a report:
    {"found": t*, "dice_before": Dice at 0.5, "dice": Dice at t*, "shift": logits, "threshold": the
    network's threshold afterwards (0.5 unless the model could not be shifted)}."""
    probability = predict_tiles(model, x, batch_size)
    before = float(dice_at(y, probability, np.array([0.5]), valid)[0])
    if not ((y > 0.5) & (y < 1.5)).any():  # 2: ignored, not the feature
        return {"found": 0.5, "dice_before": before, "dice": before, "shift": 0.0, "threshold": 0.5}
    found, dice = best_threshold(y, probability, valid)
    shift = float(np.clip(math.log(found / (1 - found)), -MAX_SHIFT, MAX_SHIFT))
    layer = output_layer(model)
    report = {"found": found, "dice_before": before, "dice": dice, "shift": 0.0, "threshold": found}
    if abs(shift) < 1e-6:
        report["threshold"] = 0.5
    elif layer is not None:
        bias = np.asarray(layer.bias.numpy() if hasattr(layer.bias, "numpy") else layer.bias)
        layer.bias.assign((bias - shift).astype(bias.dtype))
        report.update(shift=shift, threshold=0.5)
    return report
