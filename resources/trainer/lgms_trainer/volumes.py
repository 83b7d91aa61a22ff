"""Staged volumes for 3D training (`train --dims 3`, issue 25) and the patches cut from them.

A data folder holds `volumes/<case>/` per series (docs: SPEC3D, trainer README "3D training"):
`image.npy` float32 (D, H, W), already the model input (resampled to the model spacing and
normalised by the backend exactly as `segmentVolume` does at inference); `labels.npy` uint8
(D, H, W) on the same grid, the task's label values with 255 = not labelled; `meta.json` with
`spacing` [slice, row, column] mm, `modality`, `normalization`, `labelledSlices` (model-grid z
indices), `series`, `seriesInstanceUid`.

Patches: random crops of the patch size, the volume padded (image 0, labels 255 = ignored) where
it is smaller, centred as the sliding-window inference pads. Every patch holds at least one
labelled slice; two in three are centred on a labelled foreground voxel of a class drawn
uniformly among the classes present (nnU-Net's foreground oversampling, Isensee et al. 2021,
made class-balanced so that small structures are seen)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np
import torch

from .data import DataError
from .labels import IGNORE_INDEX

VOLUMES_DIR = "volumes"
#: Share of patches centred on a labelled foreground voxel (the rest: anywhere on a labelled slice).
FOREGROUND_SHARE = 2 / 3
#: Foreground voxel positions kept per class and volume for the sampler (a random subset).
MAX_POSITIONS_PER_CLASS = 20000


@dataclass
class Volume:
    """One staged series: image (D, H, W) float32, classes (D, H, W) uint8 class indices (0
    background, k+1 = label k, 255 not labelled or ignored), labelled (D,) bool."""

    name: str
    image: np.ndarray
    classes: np.ndarray
    labelled: np.ndarray
    meta: dict
    positions: dict = field(default_factory=dict)  # class index → (n, 3) int array of labelled voxels


def list_volumes(folder: str) -> list[str]:
    """Sorted case folders of folder/volumes/. DataError in a reader's words when the folder is
    2D training data (images/ + masks/) or holds no volume."""
    vdir = os.path.join(folder, VOLUMES_DIR)
    if not os.path.isdir(vdir):
        if os.path.isdir(os.path.join(folder, "images")):
            raise DataError(f"{folder} holds images (images/ and masks/), which train a 2D model; a 3D model "
                            "(--dims 3) needs volumes staged as volumes/<case>/image.npy, labels.npy and meta.json")
        raise DataError(f"{folder} has no volumes/ folder: a 3D model (--dims 3) needs volumes staged as "
                        "volumes/<case>/image.npy, labels.npy and meta.json")
    cases = sorted(os.path.join(vdir, c) for c in os.listdir(vdir) if os.path.isdir(os.path.join(vdir, c)))
    if not cases:
        raise DataError(f"no volume in {vdir}")
    return cases


def _load_array(path: str, case: str) -> np.ndarray:
    if not os.path.isfile(path):
        raise DataError(f"volume {case}: {os.path.basename(path)} is missing")
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"volume {case}: {os.path.basename(path)} cannot be read ({e})") from e


def read_meta(case_dir: str) -> dict:
    """meta.json of a staged volume, checked for the fields training needs (DataError)."""
    case = os.path.basename(case_dir)
    path = os.path.join(case_dir, "meta.json")
    if not os.path.isfile(path):
        raise DataError(f"volume {case}: meta.json is missing (spacing, normalisation and labelled slices)")
    try:
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        raise DataError(f"volume {case}: meta.json cannot be read ({e})") from e
    spacing = meta.get("spacing") if isinstance(meta, dict) else None
    if not (isinstance(spacing, list) and len(spacing) == 3 and all(isinstance(v, (int, float)) and v > 0 for v in spacing)):
        raise DataError(f"volume {case}: meta.json needs a spacing [slice, row, column] in mm")
    if not isinstance(meta.get("normalization"), dict) or "type" not in meta["normalization"]:
        raise DataError(f"volume {case}: meta.json needs the normalization the image was staged with")
    if not isinstance(meta.get("labelledSlices"), list):
        raise DataError(f"volume {case}: meta.json needs labelledSlices (the labelled slice indices)")
    return meta


def load_volume(case_dir: str, lut: np.ndarray, rng: Optional[np.random.Generator] = None) -> Volume:
    """Reads one staged volume; label values → class indices through lut (labels.LabelMap.lookup,
    255 stays 255). Voxels of slices not in labelledSlices become 255 as well. DataError when a
    file is missing, the arrays are not (D, H, W) of the same shape, or a slice index is outside."""
    case = os.path.basename(case_dir)
    meta = read_meta(case_dir)
    image = _load_array(os.path.join(case_dir, "image.npy"), case)
    labels = _load_array(os.path.join(case_dir, "labels.npy"), case)
    if image.ndim != 3 or labels.ndim != 3:
        raise DataError(f"volume {case}: image.npy and labels.npy must be volumes (slices, rows, columns)")
    if image.shape != labels.shape:
        raise DataError(f"volume {case}: image.npy {image.shape} and labels.npy {labels.shape} differ in shape")
    if labels.dtype != np.uint8:
        raise DataError(f"volume {case}: labels.npy must hold 8-bit label values, not {labels.dtype}")
    d = image.shape[0]
    slices = meta["labelledSlices"]
    if not all(isinstance(z, int) and 0 <= z < d for z in slices):
        raise DataError(f"volume {case}: labelledSlices must be slice indices from 0 to {d - 1}")
    labelled = np.zeros(d, dtype=bool)
    labelled[slices] = True
    classes = lut[labels]
    classes[~labelled] = IGNORE_INDEX
    vol = Volume(case, np.ascontiguousarray(image, dtype=np.float32), classes, labelled, meta)
    rng = rng or np.random.default_rng(0)
    for c in np.unique(classes):
        if c == 0 or c == IGNORE_INDEX:
            continue
        pos = np.argwhere(classes == c)
        if len(pos) > MAX_POSITIONS_PER_CLASS:
            pos = pos[rng.choice(len(pos), MAX_POSITIONS_PER_CLASS, replace=False)]
        vol.positions[int(c)] = pos
    return vol


def load_volume_set(case_dirs: list[str], lut: np.ndarray, seed: int = 0) -> list[Volume]:
    """Every volume of case_dirs (load_volume); the foreground positions kept are seeded."""
    rng = np.random.default_rng(seed)
    return [load_volume(c, lut, rng) for c in case_dirs]


def common_meta(volumes: list[Volume], spacing: Optional[list[float]], tolerance: float = 0.1) -> tuple[list[float], dict]:
    """(spacing, normalization) the model is trained at: `spacing` when given (the caller's
    --spacing or the parent's), else the first volume's; every volume must be staged at it (each
    axis within `tolerance`, relative) and with the same normalization. DataError otherwise."""
    first = volumes[0].meta
    target = [float(v) for v in (spacing or first["spacing"])]
    norm = first["normalization"]
    for v in volumes:
        s = v.meta["spacing"]
        if any(abs(a - b) > tolerance * b for a, b in zip(s, target)):
            raise DataError(f"volume {v.name} is staged at {s} mm but the model's spacing is {target} mm; "
                            "stage every volume at the model's spacing")
        if v.meta["normalization"] != norm:
            raise DataError(f"volume {v.name} was normalised with {v.meta['normalization']}, another volume with "
                            f"{norm}; one model needs one intensity normalisation")
    return target, norm


def _crop_start(size: int, patch: int, centre: int, rng: np.random.Generator) -> int:
    """Start of a patch along an axis of the padded size that holds `centre` (in padded coordinates)."""
    lo, hi = max(0, centre - patch + 1), min(size - patch, centre)
    return int(rng.integers(lo, hi + 1))


def sample_patch(vol: Volume, patch: tuple[int, int, int], rng: np.random.Generator,
                 foreground_share: float = FOREGROUND_SHARE) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One training patch (image (d, h, w) float32, classes (d, h, w) uint8, labelled (d,) bool)
    of the volume padded to at least the patch (image 0, classes 255, padded slices unlabelled),
    centred as the sliding-window inference pads. With probability foreground_share (when the
    volume has labelled foreground) the patch holds a labelled foreground voxel of a class drawn
    uniformly; otherwise a random labelled slice. ValueError when no slice is labelled."""
    shape = vol.image.shape
    padded = [max(s, p) for s, p in zip(shape, patch)]
    before = [(q - s) // 2 for q, s in zip(padded, shape)]
    if vol.positions and rng.random() < foreground_share:
        cls = list(vol.positions)[int(rng.integers(len(vol.positions)))]
        pos = vol.positions[cls]
        centre = [int(v) + b for v, b in zip(pos[int(rng.integers(len(pos)))], before)]
    else:
        zs = np.flatnonzero(vol.labelled)
        if not len(zs):
            raise ValueError(f"volume {vol.name} has no labelled slice")
        centre = [int(zs[int(rng.integers(len(zs)))]) + before[0],
                  int(rng.integers(padded[1])), int(rng.integers(padded[2]))]
    starts = [_crop_start(q, p, c, rng) for q, p, c in zip(padded, patch, centre)]
    # Volume coordinates of the crop, and where they land in the patch.
    src = [slice(max(0, s - b), min(n, s - b + p)) for s, b, n, p in zip(starts, before, shape, patch)]
    dst = [slice(sl.start - (s - b), sl.stop - (s - b)) for sl, s, b in zip(src, starts, before)]
    image = np.zeros(patch, dtype=np.float32)
    classes = np.full(patch, IGNORE_INDEX, dtype=np.uint8)
    labelled = np.zeros(patch[0], dtype=bool)
    image[tuple(dst)] = vol.image[tuple(src)]
    classes[tuple(dst)] = vol.classes[tuple(src)]
    labelled[dst[0]] = vol.labelled[src[0]]
    return image, classes, labelled


def flip_axes(mirror_only: bool = False, flip: bool = True) -> tuple[int, ...]:
    """The patch axes (d, h, w) augment_patch may flip: none without `flip`, the columns with
    mirror_only, else rows and columns."""
    return () if not flip else (2,) if mirror_only else (1, 2)


def describe_augmentation(mirror_only: bool = False, flip: bool = True) -> str:
    """augment_patch's augmentation in words, for model.json's training.augmentation."""
    return {(): "none", (2,): "left-right mirroring", (1, 2): "in-plane flips (rows and columns)"}[
        flip_axes(mirror_only, flip)]


def augment_patch(image: np.ndarray, classes: np.ndarray, rng: np.random.Generator,
                  mirror_only: bool = False, flip: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Cheap volume augmentation: in-plane flips (columns, and rows unless mirror_only; none when
    not `flip`: a left-right flip swaps lateral labels such as the right and left kidney), each
    with probability ½, never along the slice axis (labelled slices keep their place). The
    intensities are left as staged (a CT's HU window and an MR's percentiles already fix them):
    scaling them by U(0.9, 1.1) and shifting them by U(−0.05, 0.05), as until the sixth session,
    scored 0.793 against 0.818 without on the MR's shifted tuning split and 0.840 against 0.840
    on the first (docs/benchmarks.md, "Lead, sixth session")."""
    for a in flip_axes(mirror_only, flip):
        if rng.random() < 0.5:
            image, classes = np.flip(image, a), np.flip(classes, a)
    return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(classes)


def sample_batch(volumes: list[Volume], patch: tuple[int, int, int], batch_size: int, rng: np.random.Generator,
                 mirror_only: bool = False, flip: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A training batch: x (B, 1, d, h, w) float32, target (B, d, h, w) int64 (255 ignored),
    labelled (B, d) bool; each patch from a volume drawn uniformly (sample_patch, augment_patch)."""
    xs, ys, ls = [], [], []
    for _ in range(batch_size):
        vol = volumes[int(rng.integers(len(volumes)))]
        image, classes, labelled = sample_patch(vol, patch, rng)
        image, classes = augment_patch(image, classes, rng, mirror_only, flip)
        xs.append(image)
        ys.append(classes)
        ls.append(labelled)
    return (torch.from_numpy(np.stack(xs))[:, None], torch.from_numpy(np.stack(ys)).long(),
            torch.from_numpy(np.stack(ls)))


def parse_triple(text: str, what: str, kind: Any = int) -> list[Any]:
    """'a,b,c' → [a, b, c] of kind (int or float), positive; DataError naming `what` otherwise."""
    try:
        values = [kind(v) for v in text.split(",")]
    except ValueError:
        values = []
    if len(values) != 3 or any(v <= 0 for v in values):
        raise DataError(f"{what} must be three positive numbers 'slices,rows,columns', not {text!r}")
    return values
