"""Training loss (the authors' BCE + soft Dice) and per-image overlap metrics.

Empty masks: a ratio whose denominator is 0 counts 1.0 when prediction and ground truth are
both empty (a correct "nothing here") and 0.0 otherwise (the case was got wrong). So an image
without a lesion scores 1.0 on every metric if the model predicts nothing, and 0.0 on every
metric if it predicts anything; an image with a lesion and an empty prediction scores 0.0.
Several classes: each label is scored this way on its own, then the labels are averaged."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

SMOOTH = 1e-5


def seg_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """0.5·BCE-with-logits + (1 − soft Dice), Dice computed per sample then averaged."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    dice = (2 * (p * t).sum(1) + SMOOTH) / (p.sum(1) + t.sum(1) + SMOOTH)
    return 0.5 * bce + (1 - dice).mean()


def dice_ce_loss(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Multi-class loss "DiceCE": cross-entropy + (1 − mean soft Dice over the foreground classes).

    logits (N, C, H, W) float, C = labels + 1 (channel 0 background); target (N, H, W) or
    (N, 1, H, W) integer class indices. Volumes work the same way: logits (N, C, D, H, W), target
    (N, D, H, W) or (N, 1, D, H, W), sums over voxels. ignore_index where a pixel is not labelled: such pixels
    count neither in the cross-entropy nor in the Dice. Soft Dice of class c over the whole batch,
    (2·Σ p_c·t_c + s) / (Σ p_c + Σ t_c + s), s = 1e-5, p = softmax: batch Dice rather than per
    image, so a structure missing from one image (a jugular vein not in view) does not make that
    image's Dice a 0/1 gamble. As in the LGMSNet authors' 3D setting (Dice + CE, MONAI DiceCELoss
    with equal weights); the batch Dice follows nnU-Net (Isensee et al. 2021)."""
    if target.dim() == logits.dim():
        target = target[:, 0]
    target = target.long()
    ce = F.cross_entropy(logits, target, ignore_index=ignore_index)
    valid = (target != ignore_index).unsqueeze(1).float()  # (N, 1, H, W) or (N, 1, D, H, W)
    p = torch.softmax(logits, dim=1) * valid
    onehot = F.one_hot(target.clamp(max=logits.shape[1] - 1) * (target != ignore_index), logits.shape[1])
    t = torch.movedim(onehot, -1, 1).float() * valid
    dims = (0, *range(2, logits.dim()))
    inter, denom = (p * t).sum(dims), p.sum(dims) + t.sum(dims)
    dice = (2 * inter + SMOOTH) / (denom + SMOOTH)
    if torch.isnan(ce):  # every pixel of the batch ignored
        ce = logits.sum() * 0
    return ce + (1 - dice[1:]).mean()


def sparse_slice_dice_ce_loss(logits: torch.Tensor, target: torch.Tensor, labelled: torch.Tensor,
                              ignore_index: int = 255) -> torch.Tensor:
    """DiceCE of a volume batch whose reader labelled only some slices (every k-th, or any).

    logits (N, C, D, H, W) float; target (N, D, H, W) or (N, 1, D, H, W) class indices, its
    values on unlabelled slices are disregarded; labelled (N, D) bool, True where slice d of
    volume n was labelled (slices run along D, the series' slice axis). Unlabelled slices are
    not background: their voxels are set to ignore_index, so they count neither in the
    cross-entropy nor in the Dice, and their logits get no gradient — the 3D U-Net's weighted
    loss with weight 0 on unlabelled voxels (Çiçek et al., MICCAI 2016). Pixels of a labelled
    slice that already hold ignore_index stay ignored. A batch with no labelled slice gives a
    zero loss that still depends on the logits (see dice_ce_loss). ValueError on mismatched shapes."""
    if logits.dim() != 5:
        raise ValueError("sparse-slice loss: logits must be (N, C, D, H, W)")
    if target.dim() == 5:
        target = target[:, 0]
    n, _, d, h, w = logits.shape
    if tuple(target.shape) != (n, d, h, w) or tuple(labelled.shape) != (n, d):
        raise ValueError("sparse-slice loss: target must be (N, D, H, W) and labelled (N, D) for logits (N, C, D, H, W)")
    unlabelled = ~labelled.to(device=target.device, dtype=torch.bool)
    target = target.long().masked_fill(unlabelled[:, :, None, None], ignore_index)
    return dice_ce_loss(logits, target, ignore_index)


def _ratio(num, den, both_empty):
    if den > 0:
        return num / den
    return 1.0 if both_empty else 0.0


def overlap_metrics(pred: torch.Tensor | np.ndarray, truth: torch.Tensor | np.ndarray) -> dict[str, float]:
    """pred, truth: boolean arrays/tensors of one image (any shape). Returns a dict of floats."""
    pred, truth = torch.as_tensor(pred).bool(), torch.as_tensor(truth).bool()
    tp = int((pred & truth).sum())
    fp = int((pred & ~truth).sum())
    fn = int((~pred & truth).sum())
    both_empty = tp + fp + fn == 0
    return {
        "dice": _ratio(2 * tp, 2 * tp + fp + fn, both_empty),
        "iou": _ratio(tp, tp + fp + fn, both_empty),
        "sensitivity": _ratio(tp, tp + fn, both_empty),
        "precision": _ratio(tp, tp + fp, both_empty),
    }


METRIC_NAMES = ("dice", "iou", "sensitivity", "precision")


def label_metrics(pred: torch.Tensor, truth: torch.Tensor, classes: int, ignore_index: int = 255) -> list[dict]:
    """Per-label overlap metrics of one image: pred and truth (H, W) class indices (truth may hold
    ignore_index, those pixels are left out); returns one dict per foreground class 1..classes−1."""
    pred, truth = torch.as_tensor(pred), torch.as_tensor(truth)
    valid = truth != ignore_index
    out = []
    for c in range(1, classes):
        p, t = (pred == c) & valid, (truth == c) & valid
        m = overlap_metrics(p, t)
        # Pixel counts, so that a caller can also pool a label's Dice over images.
        m.update(tp=int((p & t).sum()), fp=int((p & ~t).sum()), fn=int((~p & t).sum()))
        out.append(m)
    return out


def summarize_labels(per_label: list[dict]) -> dict:
    """One image's label metrics → the image's metrics: each metric averaged over the labels."""
    return {k: sum(m[k] for m in per_label) / len(per_label) for k in METRIC_NAMES}


def mean_label_metrics(per_image_labels: list[list[dict]], names: list[str]) -> list[dict]:
    """Per label over images: [{"name", "dice", "iou", "sensitivity", "precision", "n", "pooledDice",
    "truthPixels"}]; pooledDice = 2·ΣTP / (2·ΣTP + ΣFP + ΣFN) over all images' pixels (1.0 when
    the label is neither present nor predicted anywhere) and truthPixels = ΣTP + ΣFN (pixels the
    label has in the truth), when the per-image metrics carry pixel counts."""
    out = []
    for k, name in enumerate(names):
        m = mean_metrics([img[k] for img in per_image_labels])
        if per_image_labels and "tp" in per_image_labels[0][k]:
            tp, fp, fn = (sum(img[k][c] for img in per_image_labels) for c in ("tp", "fp", "fn"))
            m["pooledDice"] = _ratio(2 * tp, 2 * tp + fp + fn, tp + fp + fn == 0)
            m["truthPixels"] = tp + fn
        out.append({"name": name, **m})
    return out


def mean_metrics(per_image: list[dict[str, float]]) -> dict[str, float]:
    n = len(per_image)
    out = {k: (sum(m[k] for m in per_image) / n if n else 0.0) for k in METRIC_NAMES}
    out["n"] = n
    return out
