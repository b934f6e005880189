"""Particle orientations in the conventions subtomogram-averaging programs read.

RELION (5, and Warp): Euler angles rot, tilt, psi in degrees, ZYZ; the matrix A(rot, tilt, psi)
rotates tomogram coordinates into the particle's frame, so the particle's Z axis, as a direction in
the tomogram, is A's third row: (cos rot sin tilt, sin rot sin tilt, cos tilt).
Dynamo: tdrot, tilt, narot in degrees, ZXZ; its matrix R = Rz(narot) Rx(tilt) Rz(tdrot) equals Aᵀ,
which gives tdrot = psi - 90, tilt = tilt, narot = rot + 90 (checked against the published equivalent
pair Dynamo (-47.273, 1.1777, -132.3) = RELION (137.7, 1.1777, 42.727) in tests/test_orientations.py).
copick: a 4 x 4 "transformation_" whose rotation part is R (particle into tomogram).
Directions here are (x, y, z) vectors; angles are returned in degrees.
"""

from __future__ import annotations

import numpy as np


def relion_matrix(rot, tilt, psi) -> np.ndarray:
    """A(rot, tilt, psi) for arrays of angles (degrees): shape (..., 3, 3)."""
    a, b, g = (np.radians(np.asarray(v, float)) for v in (rot, tilt, psi))
    ca, sa, cb, sb, cg, sg = np.cos(a), np.sin(a), np.cos(b), np.sin(b), np.cos(g), np.sin(g)
    cc, cs, sc, ss = cb * ca, cb * sa, sb * ca, sb * sa
    return np.stack([np.stack([cg * cc - sg * sa, cg * cs + sg * ca, -cg * sb], -1),
                     np.stack([-sg * cc - cg * sa, -sg * cs + cg * ca, sg * sb], -1),
                     np.stack([sc, ss, cb], -1)], -2)


def angles_for(directions: np.ndarray, psi=0.0) -> np.ndarray:
    """RELION (rot, tilt, psi) whose Z axis points along each (x, y, z) direction; psi spins the
    particle about that axis (twist along a filament). Returns (n, 3) degrees."""
    d = np.asarray(directions, float).reshape(-1, 3)
    d = d / np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    tilt = np.degrees(np.arccos(np.clip(d[:, 2], -1, 1)))
    rot = np.degrees(np.arctan2(d[:, 1], d[:, 0]))
    return np.column_stack([rot, tilt, np.broadcast_to(np.asarray(psi, float), len(d))])


def z_axis(angles: np.ndarray) -> np.ndarray:
    """The (x, y, z) direction of each particle's Z axis from RELION angles (n, 3)."""
    angles = np.asarray(angles, float).reshape(-1, 3)
    return relion_matrix(angles[:, 0], angles[:, 1], angles[:, 2])[:, 2, :]


def to_dynamo(angles: np.ndarray) -> np.ndarray:
    """RELION (rot, tilt, psi) -> Dynamo (tdrot, tilt, narot), degrees."""
    angles = np.asarray(angles, float).reshape(-1, 3)
    return np.column_stack([angles[:, 2] - 90, angles[:, 1], angles[:, 0] + 90])


def from_dynamo(angles: np.ndarray) -> np.ndarray:
    angles = np.asarray(angles, float).reshape(-1, 3)
    return np.column_stack([angles[:, 2] - 90, angles[:, 1], angles[:, 0] + 90])


def dynamo_matrix(tdrot, tilt, narot) -> np.ndarray:
    """Dynamo's R = Rz(narot) Rx(tilt) Rz(tdrot) (= RELION's Aᵀ), shape (..., 3, 3)."""
    def rz(t):
        c, s = np.cos(t), np.sin(t)
        z, o = np.zeros_like(t), np.ones_like(t)
        return np.stack([np.stack([c, -s, z], -1), np.stack([s, c, z], -1), np.stack([z, z, o], -1)], -2)

    def rx(t):
        c, s = np.cos(t), np.sin(t)
        z, o = np.zeros_like(t), np.ones_like(t)
        return np.stack([np.stack([o, z, z], -1), np.stack([z, c, -s], -1), np.stack([z, s, c], -1)], -2)

    a, b, g = (np.radians(np.asarray(v, float)) for v in (tdrot, tilt, narot))
    return rz(g) @ rx(b) @ rz(a)


def copick_matrices(angles: np.ndarray) -> np.ndarray:
    """4 x 4 transformations (rotation Aᵀ: particle into tomogram, no shift) for copick picks."""
    angles = np.asarray(angles, float).reshape(-1, 3)
    out = np.tile(np.eye(4), (len(angles), 1, 1))
    out[:, :3, :3] = np.swapaxes(relion_matrix(angles[:, 0], angles[:, 1], angles[:, 2]), -1, -2)
    return out


def from_copick(matrices: np.ndarray) -> np.ndarray:
    """RELION angles of copick 4 x 4 transformations."""
    a = np.swapaxes(np.asarray(matrices, float)[:, :3, :3], -1, -2)  # back to A
    tilt = np.degrees(np.arccos(np.clip(a[:, 2, 2], -1, 1)))
    rot = np.degrees(np.arctan2(a[:, 2, 1], a[:, 2, 0]))
    psi = np.degrees(np.arctan2(a[:, 1, 2], -a[:, 0, 2]))
    flat = np.abs(np.sin(np.radians(tilt))) < 1e-6  # tilt 0 or 180: only rot + psi is defined
    if flat.any():
        rot[flat] = np.degrees(np.arctan2(a[flat, 0, 1], a[flat, 0, 0]))
        psi[flat] = 0
    return np.column_stack([rot, tilt, psi])
