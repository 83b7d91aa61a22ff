"""Sliding-window prediction of a 3D model over a whole volume, for validation during 3D training.

The same windows and weights as the app's inference (src/shared/imaging/sliding-window.ts, after
nnU-Net, Isensee et al. 2021, nnunetv2/inference/sliding_window_prediction.py): windows of the
patch size with overlap ½, spread evenly from 0 to size − patch per axis (starts rounded half to
even), the volume padded with 0 (centred) where it is smaller than the patch, each window's
softmax probabilities weighted by a Gaussian importance map (σ = patch/8 per axis, centred at
(size − 1)/2, peak 1) and divided by the sum of the weights. Unlike the app, no flip TTA:
validation runs often and must stay cheap; a checkpoint is ranked, not reported to a reader.

Only the labelled slices are scored, so windows that cover none of them are skipped (exact: a
voxel's blend only involves windows that contain it)."""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

import numpy as np
import torch

from .metrics import label_metrics, mean_label_metrics, mean_metrics, summarize_labels
from .volumes import Volume


def gaussian_1d(size: int) -> np.ndarray:
    """exp(−(i − c)² / 2σ²), c = (size − 1)/2, σ = size/8, scaled to a peak of 1 (float64, (size,));
    as gaussian1d in sliding-window.ts."""
    i = np.arange(size, dtype=np.float64)
    sigma = size / 8
    g = np.exp(-((i - (size - 1) / 2) ** 2) / (2 * sigma * sigma))
    return g / g.max()


def window_starts(size: int, patch: int, overlap: float = 0.5) -> list[int]:
    """Starts of the windows along one axis (nnU-Net's compute_steps_for_sliding_window, as
    windowStarts in sliding-window.ts): [0] when size ≤ patch (the caller pads)."""
    if size <= patch:
        return [0]
    step = patch * (1 - overlap)
    n = math.ceil((size - patch) / step) + 1
    actual = (size - patch) / (n - 1)
    return [int(np.round(actual * i)) for i in range(n)]


def count_windows(shape: Sequence[int], patch: Sequence[int], slices: Optional[np.ndarray] = None,
                  overlap: float = 0.5) -> int:
    """Windows predict_volume runs over a volume of shape (D, H, W) (only those covering a True
    slice when slices is given)."""
    padded = [max(s, p) for s, p in zip(shape, patch)]
    before = (padded[0] - shape[0]) // 2
    want = np.zeros(padded[0], dtype=bool)
    want[before:before + shape[0]] = True if slices is None else slices
    zs = [z for z in window_starts(padded[0], patch[0], overlap) if want[z:z + patch[0]].any()]
    return len(zs) * len(window_starts(padded[1], patch[1], overlap)) * len(window_starts(padded[2], patch[2], overlap))


@torch.no_grad()
def predict_volume(model: torch.nn.Module, image: np.ndarray, patch: Sequence[int], device: torch.device,
                   overlap: float = 0.5, slices: Optional[np.ndarray] = None,
                   stop: Optional[Callable[[], None]] = None) -> np.ndarray:
    """Class probabilities (C, D, H, W) float32 of a model (N×1×d×h×w → N×C×d×h×w logits) over
    image (D, H, W), blended as the module docstring says. slices: (D,) bool, when given only
    windows covering a True slice run (other slices' probabilities are then 0 and meaningless).
    stop() is called before each window."""
    model.eval()
    shape = image.shape
    padded = [max(s, p) for s, p in zip(shape, patch)]
    before = [(q - s) // 2 for q, s in zip(padded, shape)]
    x = np.zeros(padded, dtype=np.float32)
    x[before[0]:before[0] + shape[0], before[1]:before[1] + shape[1], before[2]:before[2] + shape[2]] = image
    want = np.ones(padded[0], dtype=bool)
    if slices is not None:
        want[:] = False
        want[before[0]:before[0] + shape[0]] = slices
    g = [gaussian_1d(p) for p in patch]
    weight = torch.from_numpy((g[0][:, None, None] * g[1][None, :, None] * g[2][None, None, :]).astype(np.float32))
    acc = wsum = None
    xt = torch.from_numpy(x)
    for z in window_starts(padded[0], patch[0], overlap):
        if not want[z:z + patch[0]].any():
            continue
        for y in window_starts(padded[1], patch[1], overlap):
            for w in window_starts(padded[2], patch[2], overlap):
                if stop is not None:
                    stop()
                win = xt[z:z + patch[0], y:y + patch[1], w:w + patch[2]][None, None].to(device)
                prob = torch.softmax(model(win).float(), 1)[0].cpu()
                if acc is None:
                    acc = torch.zeros(prob.shape[0], *padded)
                    wsum = torch.zeros(padded)
                acc[:, z:z + patch[0], y:y + patch[1], w:w + patch[2]] += prob * weight
                wsum[z:z + patch[0], y:y + patch[1], w:w + patch[2]] += weight
    if acc is None:
        raise ValueError("no window to predict: no slice selected")
    out = acc / wsum.clamp(min=1e-12)
    return out[:, before[0]:before[0] + shape[0], before[1]:before[1] + shape[1],
               before[2]:before[2] + shape[2]].numpy()


def validate_volumes(model: torch.nn.Module, volumes: list[Volume], patch: Sequence[int], device: torch.device,
                     label_names: list[str], stop: Optional[Callable[[], None]] = None) -> dict:
    """Per-label metrics of a 3D model on the labelled slices of each validation volume only:
    the argmax of predict_volume, scored by metrics.label_metrics on the labelled slices (voxels
    holding 255 there are left out). Returns validate()'s shape (evaluate.py): the means over
    volumes of dice/iou/sensitivity/precision (each a mean over labels), n = volumes, and
    "labels" with each label's means, pooled Dice and truth voxels, so that
    evaluate.selection_score ranks 3D checkpoints as it ranks 2D multi-class ones."""
    per_image, per_labels = [], []
    for vol in volumes:
        if not vol.labelled.any():
            continue
        prob = predict_volume(model, vol.image, patch, device, slices=vol.labelled, stop=stop)
        pred = torch.from_numpy(prob[:, vol.labelled].argmax(0))
        truth = torch.from_numpy(vol.classes[vol.labelled])
        per_label = label_metrics(pred, truth, model.classes)
        per_labels.append(per_label)
        per_image.append(summarize_labels(per_label))
    result = mean_metrics(per_image)
    result["labels"] = mean_label_metrics(per_labels, label_names)
    return result
