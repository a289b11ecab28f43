"""The insert as a solid: its frame in the world (shifted, leaning) and where rays meet it, the top
disc or the side wall of a cylinder standing on the plane."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from inspector.synth.camera import plane_to_world
from inspector.synth.scene import CavityDesign, InsertPose, Scene


def _insert_frame(pose: InsertPose, scene: Scene) -> tuple[np.ndarray, np.ndarray]:
    """(rotation local → world, base centre in world) of the insert."""
    base = plane_to_world(np.array(scene.cavity_center) + np.array(pose.shift))
    a, t = np.deg2rad(pose.tilt_dir_deg), np.deg2rad(pose.tilt_deg)
    lean = plane_to_world(np.array([np.cos(a), np.sin(a)]))  # horizontal world direction of the lean
    axis = np.cross([0.0, 0.0, 1.0], lean)
    axis /= np.linalg.norm(axis)
    K = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    Rl = np.eye(3) + np.sin(t) * K + (1 - np.cos(t)) * K @ K
    return Rl, base


@dataclass(frozen=True)
class InsertHits:
    hit: np.ndarray  # (N,) bool
    point: np.ndarray  # (N, 3) world hit points
    normal: np.ndarray  # (N, 3) world normals
    local: np.ndarray  # (N, 3) hit points in the insert frame


def intersect_insert(
    origins: np.ndarray, dirs: np.ndarray, pose: InsertPose, scene: Scene, design: CavityDesign
) -> InsertHits:
    """First intersection of rays with the insert cylinder above the plane."""
    Rl, base = _insert_frame(pose, scene)
    origins, dirs = np.broadcast_arrays(origins, dirs)
    o = (origins - base) @ Rl  # Rl^T (o - base) for row vectors
    d = dirs @ Rl
    r, h = design.insert_radius, design.insert_height
    big = np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        t_top = (h - o[:, 2]) / d[:, 2]
        xt, yt = o[:, 0] + t_top * d[:, 0], o[:, 1] + t_top * d[:, 1]
        t_top = np.where((t_top > 0) & (xt * xt + yt * yt <= r * r), t_top, big)
        a = d[:, 0] ** 2 + d[:, 1] ** 2
        b = 2 * (o[:, 0] * d[:, 0] + o[:, 1] * d[:, 1])
        c = o[:, 0] ** 2 + o[:, 1] ** 2 - r * r
        disc = b * b - 4 * a * c
        t_side = (-b - np.sqrt(np.maximum(disc, 0))) / (2 * a)
        zs = o[:, 2] + t_side * d[:, 2]
        t_side = np.where((disc > 0) & (a > 1e-12) & (t_side > 0) & (zs >= 0) & (zs <= h), t_side, big)
    t = np.minimum(t_top, t_side)
    finite = np.isfinite(t)
    t_or_0 = np.where(finite, t, 0.0)
    world = origins + t_or_0[:, None] * dirs
    hit = finite & (world[:, 2] >= 0.0)  # the part of a leaning insert below the plane is hidden
    local = o + t_or_0[:, None] * d
    on_top = t_top <= t_side
    n_local = np.where(
        on_top[:, None],
        np.array([0.0, 0.0, 1.0]),
        np.stack([local[:, 0] / r, local[:, 1] / r, np.zeros_like(t)], axis=1),
    )
    return InsertHits(hit=hit, point=world, normal=n_local @ Rl.T, local=local)

