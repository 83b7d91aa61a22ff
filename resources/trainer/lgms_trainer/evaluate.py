"""Evaluation: per-image Dice, IoU, sensitivity and precision of a model package on a folder.

`evaluate` measures at each image's original resolution: the sigmoid probabilities are
cropped out of the letterbox, resized back (bilinear) and thresholded. Probabilities, not
logits: logits are lopsided (about +17 inside a lesion, -3 outside on a trained model), so
interpolated logits cross 0 off-centre and dilated every mask (Dice 0.968 instead of 0.988). Validation during training
measures at model resolution, on the letterboxed masks, which is cheaper.

Multi-class models (softmax): the class probabilities are resized back the same way and the
label of a pixel is their argmax; each label is scored on its own (metrics.label_metrics) and
an image's Dice is the mean over the labels. Pixels that are not labelled (255, ignored or
unlisted values) count for no label."""

from __future__ import annotations

import math
import os
from typing import Callable, Optional

import numpy as np
import torch

from .data import list_pairs, load_image, load_label_values, load_mask, prepare_image, unletterbox
from .export import onnx_session
from .labels import label_map_from_manifest
from .metrics import label_metrics, mean_label_metrics, mean_metrics, overlap_metrics, summarize_labels
from .package import default_input_spec, load_model

DEFAULT_SPEC = default_input_spec((256, 256), "replicate", {"type": "scale", "min": 0, "max": 255})


@torch.no_grad()
def validate(model: torch.nn.Module, images: torch.Tensor, masks: torch.Tensor, device: torch.device, batch_size: int = 8,
             threshold: float = 0.5, stop: Optional[Callable[[], None]] = None,
             label_names: Optional[list[str]] = None) -> dict:
    """Mean metrics over preprocessed tensors (images float16 (N,P,H,W), masks uint8 (N,1,H,W));
    stop() is called between batches so that a cancel need not wait for the whole set.
    A multi-class model (classes > 1): masks hold class indices (255 ignored), the prediction is
    the argmax, the returned dice/iou/... are means over labels and "labels" lists each label's
    means (named by label_names)."""
    model.eval()
    multi = model.classes > 1
    cut = _logit(threshold)
    per_image, per_labels = [], []
    for i in range(0, len(images), batch_size):
        if stop is not None:
            stop()
        x = expand_planes(images[i:i + batch_size], model.in_channels).to(device)
        logits = model(x)
        pred = (logits.argmax(1, keepdim=True) if multi else logits > cut).cpu()
        for p, m in zip(pred, masks[i:i + batch_size]):
            if multi:
                per_label = label_metrics(p[0], m[0], model.classes)
                per_labels.append(per_label)
                per_image.append(summarize_labels(per_label))
            else:
                per_image.append(overlap_metrics(p[0], m[0] > 0))
    result = mean_metrics(per_image)
    if multi:
        names = label_names or [f"class {c}" for c in range(1, model.classes)]
        result["labels"] = mean_label_metrics(per_labels, names)
    return result


def selection_score(metrics: dict) -> float:
    """The number a training run keeps its best checkpoint by, from validate()'s result (0..1).

    One label: the mean per-image Dice. Several labels: the mean, over the labels the validation
    images show (truthPixels > 0), of the pooled Dice (2·ΣTP / (2·ΣTP + ΣFP + ΣFN) over all
    validation pixels, as nnU-Net's pseudo Dice); the per-image mean Dice when they show none.
    The per-image mean scores a label as 1 on every image without it when nothing is predicted
    and 0 for one stray pixel: on a short run it ranked an all-background checkpoint (0.67 on
    three labels) above one that had found the first label (0.91 with a stray pixel of the third,
    0.64), and the run kept the empty one (CI, 2026-12-06)."""
    labels = [x for x in metrics.get("labels") or [] if x.get("truthPixels", 0) > 0]
    if not labels:
        return float(metrics["dice"])
    return sum(float(x["pooledDice"]) for x in labels) / len(labels)


def expand_planes(x: torch.Tensor, in_channels: int) -> torch.Tensor:
    x = x.float()
    return x.expand(-1, in_channels, -1, -1) if x.shape[1] == 1 and in_channels > 1 else x


def _logit(p: float) -> float:
    if p <= 0:
        return -math.inf
    if p >= 1:
        return math.inf
    return math.log(p / (1 - p))


def drop_small_components(labels: torch.Tensor, min_pixels: int) -> torch.Tensor:
    """Label map (H, W) of class indices → the same with every 4-connected component of a
    foreground class smaller than min_pixels set to background (0), as the app's inference
    post-processing does for each label (src/shared/imaging/slice-mask.ts, minComponentPixels)."""
    if min_pixels <= 1:
        return labels
    from scipy import ndimage  # only for this option

    out = labels.clone()
    arr = labels.numpy()
    for c in np.unique(arr):
        if c == 0:
            continue
        comp, n = ndimage.label(arr == c)  # default structure: 4-connectivity
        sizes = np.bincount(comp.ravel(), minlength=n + 1)
        small = sizes < min_pixels
        small[0] = False
        out[torch.from_numpy(small[comp])] = 0
    return out


def evaluate_folder(model_dir: str, data_dir: str, use_onnx: bool = False, threshold: Optional[float] = None,
                    device: Optional[torch.device] = None, min_component: int = 0) -> dict:
    """Per-image metrics of a model package on data_dir (images/ + masks/) at each image's own
    resolution; binary: thresholded sigmoid, multi-class: argmax of the softmax with per-label
    metrics (module docstring), after dropping components under min_component pixels per label
    when given (multi-class only). Raises ValueError for a multi-class model without model.json."""
    model, manifest = load_model(model_dir)
    spec = dict(manifest["input"]) if manifest else dict(DEFAULT_SPEC)
    spec["size"] = tuple(spec["size"])
    if threshold is None:
        threshold = manifest["output"].get("threshold", 0.5) if manifest else 0.5
    if use_onnx:
        onnx_name = manifest["files"]["onnx"] if manifest else "model.onnx"
        session = onnx_session(os.path.join(model_dir, onnx_name))
        if session is None:
            raise RuntimeError("onnxruntime for Python is not installed; run without --onnx")
        run = lambda x: torch.from_numpy(session.run(["logits"], {"input": x.numpy()})[0])
    else:
        device = device or torch.device("cpu")
        model.to(device)
        run = lambda x: model(x.to(device)).cpu()
    label_map = label_map_from_manifest(manifest)
    if model.classes > 1 and label_map is None:
        raise ValueError(f"{model_dir}: a {model.classes}-class model needs a model.json naming its labels")
    lut = label_map.lookup() if label_map else None
    results, per_labels = [], []
    with torch.no_grad():
        for name, ip, mp in list_pairs(data_dir):
            img = load_image(ip)
            x = prepare_image(img, spec, model.in_channels)[None].contiguous()
            logits = run(x)[0]
            if label_map is None:
                truth = load_mask(mp)
                prob = unletterbox(torch.sigmoid(logits[:1]), img.shape[0], img.shape[1], spec["size"])
                m = overlap_metrics(prob[0] > threshold, torch.from_numpy(np.ascontiguousarray(truth)))
                results.append({"name": name, **m})
                continue
            truth = torch.from_numpy(load_label_values(mp, lut))
            prob = unletterbox(torch.softmax(logits, 0), img.shape[0], img.shape[1], spec["size"])
            per_label = label_metrics(drop_small_components(prob.argmax(0), min_component), truth, model.classes)
            per_labels.append(per_label)
            results.append({"name": name, **summarize_labels(per_label),
                            "labels": [{"name": n, **m} for n, m in zip(label_map.names, per_label)]})
    out = {"model": os.path.abspath(model_dir), "backend": "onnxruntime" if use_onnx else "torch",
           "threshold": None if label_map else threshold, "images": results, "mean": mean_metrics(results)}
    if label_map:
        out["mean"]["labels"] = [{"value": v, **m} for v, m in zip(label_map.values, mean_label_metrics(per_labels, label_map.names))]
    return out
