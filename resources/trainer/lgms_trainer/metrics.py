"""Training loss (the authors' BCE + soft Dice) and per-image overlap metrics.

Empty masks: a ratio whose denominator is 0 counts 1.0 when prediction and ground truth are
both empty (a correct "nothing here") and 0.0 otherwise (the case was got wrong). So an image
without a lesion scores 1.0 on every metric if the model predicts nothing, and 0.0 on every
metric if it predicts anything; an image with a lesion and an empty prediction scores 0.0."""

import torch
import torch.nn.functional as F

SMOOTH = 1e-5


def seg_loss(logits, target):
    """0.5·BCE-with-logits + (1 − soft Dice), Dice computed per sample then averaged."""
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits).flatten(1)
    t = target.flatten(1)
    dice = (2 * (p * t).sum(1) + SMOOTH) / (p.sum(1) + t.sum(1) + SMOOTH)
    return 0.5 * bce + (1 - dice).mean()


def _ratio(num, den, both_empty):
    if den > 0:
        return num / den
    return 1.0 if both_empty else 0.0


def overlap_metrics(pred, truth):
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


def mean_metrics(per_image):
    n = len(per_image)
    out = {k: (sum(m[k] for m in per_image) / n if n else 0.0) for k in METRIC_NAMES}
    out["n"] = n
    return out
