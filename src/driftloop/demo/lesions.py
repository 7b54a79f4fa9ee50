"""Tumours painted into a warped head slice, each returning its ground-truth mask.

Glioma: irregular intra-axial mass with an oedema halo, often a necrotic core,
pushing nearby tissue aside. Meningioma: bright, well-circumscribed, extra-axial,
attached to the dura at the skull's inner table, with a dural tail. Pituitary:
small bright midline mass at the sella. Intensities are relative to the local
tissue so no class is brighter on average than another by construction.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

from driftloop.demo.anatomy import FloatImage, Head

__all__ = ["add_glioma", "add_lesion", "add_meningioma", "add_pituitary"]

Mask = NDArray[np.bool_]


def _blob(
    rng: np.random.Generator,
    shape: tuple[int, int],
    centre: tuple[float, float],
    radius: float,
    roughness: float,
    aspect: float = 1.0,
) -> tuple[FloatImage, FloatImage]:
    """Polar distance field: returns (rho / boundary radius, polar angle) for an irregular blob."""
    rows, cols = np.ogrid[: shape[0], : shape[1]]
    dr = (rows - centre[0]).astype(np.float32)
    dc = (cols - centre[1]).astype(np.float32) / aspect
    rho = np.sqrt(dr * dr + dc * dc)
    theta = np.arctan2(dr, dc)
    boundary = np.ones_like(theta)
    for k in range(2, 7):
        boundary += (
            (roughness / k) * rng.uniform(0.3, 1.0) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
        )
    return (rho / (radius * boundary)).astype(np.float32), theta.astype(np.float32)


def _texture(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> FloatImage:
    """Smooth zero-mean, unit-ish random texture."""
    noise = ndimage.gaussian_filter(rng.standard_normal(shape, dtype=np.float32), sigma)
    out: FloatImage = (noise / (noise.std() + 1e-6)).astype(np.float32)
    return out


def _mass_effect(head: Head, centre: tuple[float, float], radius: float, amount: float) -> None:
    """Push tissue radially away from ``centre`` (in place), fading out by ~3 radii."""
    n = head.image.shape[0]
    reach = int(radius * 3.2)
    r0, r1 = max(0, int(centre[0]) - reach), min(n, int(centre[0]) + reach)
    c0, c1 = max(0, int(centre[1]) - reach), min(n, int(centre[1]) + reach)
    rows, cols = np.mgrid[r0:r1, c0:c1].astype(np.float32)
    dr, dc = rows - centre[0], cols - centre[1]
    rho = np.sqrt(dr * dr + dc * dc) + 1e-3
    # Displacement peaks at the lesion edge and decays outwards; sampling closer to
    # the centre makes tissue appear pushed out.
    shift = amount * radius * np.exp(-(((rho - radius) / (1.2 * radius)) ** 2))
    shift = np.minimum(shift, rho * 0.9)
    src = np.stack([rows - shift * dr / rho, cols - shift * dc / rho])
    for name in ("image", "brain"):
        arr = getattr(head, name)
        order = 1 if name == "image" else 0
        patch = ndimage.map_coordinates(arr.astype(np.float32), src, order=order, mode="nearest")
        arr[r0:r1, c0:c1] = patch if name == "image" else patch > 0.5


def _pick_inside(
    rng: np.random.Generator, region: Mask, margin: float
) -> tuple[float, float] | None:
    depth = ndimage.distance_transform_edt(region)
    rows, cols = np.nonzero(depth > margin)
    if rows.size == 0:
        return None
    i = int(rng.integers(rows.size))
    return float(rows[i]), float(cols[i])


def add_glioma(head: Head, rng: np.random.Generator) -> Mask:
    """Irregular intra-axial mass with oedema, maybe a necrotic core, and mass effect."""
    n = head.image.shape[0]
    scale = n / 256.0
    radius = rng.uniform(9.0, 26.0) * scale
    centre = _pick_inside(rng, head.brain | head.hull, radius * 0.9 + 6 * scale)
    if centre is None:
        radius = 7.0 * scale
        centre = _pick_inside(rng, head.hull, radius) or (n / 2.0, n / 2.0)
    _mass_effect(head, centre, radius, rng.uniform(0.25, 0.5))
    shape = (n, n)
    rel, _ = _blob(
        rng, shape, centre, radius, roughness=rng.uniform(0.35, 0.6), aspect=rng.uniform(0.8, 1.25)
    )
    oedema_rel, _ = _blob(rng, shape, centre, radius * rng.uniform(1.5, 2.2), roughness=0.7)
    tumour = rel < 1.0
    image = head.image
    # Oedema is T1-hypointense and follows the white matter (fingers), soft-edged.
    fade = np.clip((1.0 - oedema_rel) * 3.0, 0.0, 1.0) * head.hull
    image *= 1.0 - 0.35 * fade * np.clip(image / 0.6, 0.4, 1.0)
    texture = _texture(rng, shape, 1.5 * scale)
    tissue = float(np.median(image[head.brain])) if head.brain.any() else 0.6
    necrotic = rng.random() < 0.6
    rim_width = rng.uniform(0.15, 0.35)
    if necrotic:
        core = rel < 1.0 - rim_width
        rim = tumour & ~core
        image[rim] = tissue * rng.uniform(1.3, 1.55) + 0.06 * texture[rim]
        image[core] = tissue * rng.uniform(0.2, 0.4) + 0.04 * texture[core]
    else:
        image[tumour] = tissue * rng.uniform(0.75, 1.15) + 0.12 * texture[tumour]
    return tumour


def _boundary_point(
    hull: Mask, start: tuple[float, float], angle: float
) -> tuple[float, float] | None:
    n = hull.shape[0]
    r, c = start
    dr, dc = np.sin(angle), np.cos(angle)
    last = None
    for step in range(n):
        rr, cc = int(r + dr * step), int(c + dc * step)
        if not (0 <= rr < n and 0 <= cc < n):
            break
        if hull[rr, cc]:
            last = (float(rr), float(cc))
        elif last is not None:
            break
    return last


def add_meningioma(head: Head, rng: np.random.Generator) -> Mask:
    """Bright, round, extra-axial mass flattened against the inner table, with a dural tail."""
    n = head.image.shape[0]
    scale = n / 256.0
    rows, cols = np.nonzero(head.hull)
    if rows.size == 0:
        return np.zeros((n, n), bool)
    middle = (float(rows.mean()), float(cols.mean()))
    angle = rng.uniform(0, 2 * np.pi)
    edge = _boundary_point(head.hull, middle, angle) or middle
    radius = rng.uniform(8.0, 26.0) * scale
    inward = rng.uniform(0.3, 0.7) * radius
    centre = (edge[0] - np.sin(angle) * inward, edge[1] - np.cos(angle) * inward)
    _mass_effect(head, centre, radius, rng.uniform(0.2, 0.45))
    shape = (n, n)
    rel, _ = _blob(
        rng, shape, centre, radius, roughness=rng.uniform(0.05, 0.15), aspect=rng.uniform(0.85, 1.2)
    )
    tumour = (rel < 1.0) & head.hull
    tissue = float(np.median(head.image[head.brain])) if head.brain.any() else 0.6
    image = head.image
    # A thin CSF cleft separates an extra-axial mass from the brain it indents.
    cleft = (rel < 1.12) & ~tumour & head.hull
    image[cleft] *= 0.55
    # Dural tail: a thin enhancing strip along the inner table either side of the base.
    hull_edge = head.hull & ~ndimage.binary_erosion(head.hull, iterations=max(1, int(2 * scale)))
    tail = hull_edge & (rel < rng.uniform(1.6, 2.2))
    image[tail] = np.maximum(image[tail], tissue * 1.15)
    texture = _texture(rng, shape, 2.0 * scale)
    image[tumour] = tissue * rng.uniform(1.3, 1.5) + 0.04 * texture[tumour]
    return tumour


def add_pituitary(head: Head, rng: np.random.Generator) -> Mask:
    """Small enhancing midline mass at the sella (macroadenoma reaching suprasellar)."""
    n = head.image.shape[0]
    scale = n / 256.0
    radius = rng.uniform(6.0, 12.0) * scale
    r, c = head.sella
    centre = (r + rng.uniform(-2, 2) * scale, c + rng.uniform(-1.5, 1.5) * scale)
    _mass_effect(head, centre, radius, rng.uniform(0.1, 0.3))
    rel, _ = _blob(rng, (n, n), centre, radius, roughness=0.12, aspect=rng.uniform(1.0, 1.35))
    tumour = rel < 1.0
    tissue = float(np.median(head.image[head.brain])) if head.brain.any() else 0.6
    texture = _texture(rng, (n, n), 1.2 * scale)
    head.image[tumour] = tissue * rng.uniform(1.25, 1.5) + 0.05 * texture[tumour]
    return tumour


def add_lesion(cls: str, head: Head, rng: np.random.Generator) -> Mask:
    """Paint the lesion of class ``cls`` (none for ``notumor``); returns the tumour mask."""
    if cls == "glioma":
        return add_glioma(head, rng)
    if cls == "meningioma":
        return add_meningioma(head, rng)
    if cls == "pituitary":
        return add_pituitary(head, rng)
    return np.zeros(head.image.shape, bool)
