"""Base anatomy: axial T1 slices of the MNI152 template with a synthetic skull and scalp.

The nilearn wheel ships the MNI152 2009a T1 template inside itself, so this
needs no download. The template is skull-stripped; public tumour data sets show
the whole head, so each slice gets a scalp/skull envelope (fat, bone cortex,
marrow, CSF) built from a smoothed hull of the brain. Per synthetic patient a
random affine warp, a random slice, a smooth bias field, gamma and Rician noise
make every image different.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from scipy import ndimage

__all__ = [
    "SELLAR_Z",
    "Z_RANGE",
    "Head",
    "acquire",
    "render_head",
    "slice_stack",
]

FloatImage = NDArray[np.float32]

# Axial template indices (1 mm, z = -72 mm at index 0) that show brain with a
# recognisable shape: from the skull base (temporal poles, pons) to the vertex.
Z_RANGE = (44, 128)
# Slices through the sella turcica, where pituitary masses live.
SELLAR_Z = (44, 56)
# The sella, in template voxels (x, y): midline, just behind the chiasm.
SELLA_XY = (98.0, 137.0)
# Field of view of the synthetic scanner in mm; the image spans it.
FOV_MM = 236.0

# Scalp layers outside the brain hull: (outer distance in mm, T1 intensity).
_LAYERS = (
    (1.5, 0.07),  # CSF and dura
    (3.5, 0.03),  # inner table of the skull
    (6.5, 0.42),  # diploe (fatty marrow)
    (8.0, 0.04),  # outer table
    (9.5, 0.30),  # galea and muscle
    (14.0, 0.80),  # subcutaneous fat
)


@dataclass(frozen=True)
class SliceStack:
    """Pre-rendered head slices at one image size (shared by every image)."""

    heads: FloatImage  # (nz, n, n) full head intensity
    brains: NDArray[np.bool_]  # (nz, n, n) brain tissue
    hulls: NDArray[np.bool_]  # (nz, n, n) inside the inner table (brain + CSF)
    z0: int
    sella_px: tuple[float, float]  # (row, col) of the sella in the unwarped image


@dataclass
class Head:
    """One warped head slice before lesions and acquisition effects."""

    image: FloatImage
    brain: NDArray[np.bool_]
    hull: NDArray[np.bool_]
    z: int
    sella: tuple[float, float]  # (row, col) of the sella after the warp


@lru_cache(maxsize=1)
def _template() -> NDArray[np.float32]:
    from nilearn.datasets import load_mni152_template

    data = np.asarray(load_mni152_template(resolution=1).get_fdata(), dtype=np.float32)
    return data


def _scalp(brain_slice: FloatImage) -> tuple[FloatImage, NDArray[np.bool_], NDArray[np.bool_]]:
    """Add skull and scalp around one 1 mm brain slice (rows anterior->posterior)."""
    brain = brain_slice > 0.05
    hull = ndimage.gaussian_filter(brain.astype(np.float32), 5.0) > 0.25
    hull = ndimage.binary_fill_holes(ndimage.binary_closing(hull, iterations=6))
    dist = ndimage.distance_transform_edt(~hull).astype(np.float32)
    head = np.where(hull, np.maximum(brain_slice, 0.06), 0.0).astype(np.float32)
    inner = 0.0
    for outer, value in _LAYERS:
        head[(dist > inner) & (dist <= outer)] = value
        inner = outer
    # Fat thins towards the skin, so the outer edge is not a hard step.
    fat = (dist > 9.5) & (dist <= 14.0)
    head[fat] *= 1.0 - 0.35 * (dist[fat] - 9.5) / 4.5
    head = ndimage.gaussian_filter(head, 0.6)
    return head.astype(np.float32), brain, hull


@lru_cache(maxsize=4)
def slice_stack(image_size: int) -> SliceStack:
    """Every usable axial slice, oriented radiologically (anterior up, patient left on the right)."""
    data = _template()
    nx, ny, _ = data.shape
    fov = int(FOV_MM)
    # Centre the 197 x 233 mm slice on a square FOV canvas.
    off_r, off_c = (fov - ny) // 2, (fov - nx) // 2
    zoom = image_size / fov
    heads, brains, hulls = [], [], []
    for z in range(Z_RANGE[0], Z_RANGE[1] + 1):
        # Template axes are (x: left->right, y: posterior->anterior); rows go anterior->posterior
        # and columns patient right->left (radiological convention).
        s = data[:, :, z].T[::-1, ::-1]
        canvas = np.zeros((fov, fov), np.float32)
        canvas[off_r : off_r + ny, off_c : off_c + nx] = s
        head, brain, hull = _scalp(canvas)
        heads.append(ndimage.zoom(head, zoom, order=1))
        brains.append(ndimage.zoom(brain.astype(np.float32), zoom, order=1) > 0.5)
        hulls.append(ndimage.zoom(hull.astype(np.float32), zoom, order=1) > 0.5)
    sx, sy = SELLA_XY
    sella = ((ny - 1 - sy + off_r) * zoom, (nx - 1 - sx + off_c) * zoom)
    return SliceStack(
        heads=np.stack(heads),
        brains=np.stack(brains),
        hulls=np.stack(hulls),
        z0=Z_RANGE[0],
        sella_px=sella,
    )


def render_head(rng: np.random.Generator, image_size: int, z: int) -> Head:
    """Warp template slice ``z`` by a random affine (rotation, scale, shift) into a new head."""
    stack = slice_stack(image_size)
    i = int(np.clip(z - stack.z0, 0, stack.heads.shape[0] - 1))
    angle = np.deg2rad(rng.uniform(-10.0, 10.0))
    scale = rng.uniform(0.92, 1.08)
    aspect = rng.uniform(0.96, 1.04)
    shift = rng.uniform(-0.025, 0.025, size=2) * image_size
    cos, sin = np.cos(angle), np.sin(angle)
    # Maps output (row, col) to input coordinates around the image centre.
    forward = np.array([[cos, -sin], [sin, cos]]) @ np.diag([scale * aspect, scale / aspect])
    matrix = np.linalg.inv(forward)
    centre = np.array([(image_size - 1) / 2.0] * 2)
    offset = centre - matrix @ (centre + shift)
    # PIL's affine resampler is ~5x faster than scipy's; it takes the output->input map as (col, row).
    coeffs = (matrix[1, 1], matrix[1, 0], offset[1], matrix[0, 1], matrix[0, 0], offset[0])
    size = (image_size, image_size)
    image = np.asarray(
        Image.fromarray(stack.heads[i], mode="F").transform(
            size, Image.Transform.AFFINE, coeffs, Image.Resampling.BILINEAR
        )
    )
    masks = stack.brains[i].astype(np.uint8) + 2 * stack.hulls[i].astype(np.uint8)
    warped = np.asarray(
        Image.fromarray(masks, mode="L").transform(
            size, Image.Transform.AFFINE, coeffs, Image.Resampling.NEAREST
        )
    )
    brain, hull = (warped & 1) > 0, (warped & 2) > 0
    sella_out = forward @ (np.array(stack.sella_px) - centre) + centre + shift
    return Head(
        image=image.astype(np.float32, copy=True),
        brain=brain.copy(),
        hull=hull,
        z=z,
        sella=(float(sella_out[0]), float(sella_out[1])),
    )


def acquire(image: FloatImage, rng: np.random.Generator) -> NDArray[np.uint8]:
    """Scanner effects: smooth bias field, gain, gamma, Rician noise; returns 8-bit grey."""
    n = image.shape[0]
    ax = np.linspace(-1.0, 1.0, n, dtype=np.float32)
    c = rng.uniform(-0.12, 0.12, size=5).astype(np.float32)
    bias = np.exp(
        c[0] * ax[:, None]
        + c[1] * ax[None, :]
        + c[2] * ax[:, None] * ax[None, :]
        + c[3] * ax[:, None] ** 2
        + c[4] * ax[None, :] ** 2
    )
    gain = rng.uniform(0.78, 1.12)
    gamma = rng.uniform(0.8, 1.25)
    signal = np.clip(image * bias, 0.0, None) ** gamma * gain
    sigma = rng.uniform(0.012, 0.03)
    real = signal + rng.standard_normal(image.shape, dtype=np.float32) * sigma
    imag = rng.standard_normal(image.shape, dtype=np.float32) * sigma
    magnitude = np.sqrt(real * real + imag * imag)
    out: NDArray[np.uint8] = np.clip(magnitude * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out
