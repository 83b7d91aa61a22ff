"""Evaluation: per-image Dice, IoU, sensitivity and precision of a model package on a folder.

`evaluate` measures at each image's original resolution: the sigmoid probabilities are
cropped out of the letterbox, resized back (bilinear) and thresholded. Probabilities, not
logits: logits are lopsided (about +17 inside a lesion, -3 outside on a trained model), so
interpolated logits cross 0 off-centre and dilated every mask (Dice 0.968 instead of 0.988). Validation during training
measures at model resolution, on the letterboxed masks, which is cheaper."""

import math
import os

import numpy as np
import torch

from .data import list_pairs, load_image, load_mask, prepare_image, unletterbox
from .export import onnx_session
from .metrics import mean_metrics, overlap_metrics
from .package import default_input_spec, load_model

DEFAULT_SPEC = default_input_spec((256, 256), "replicate", {"type": "scale", "min": 0, "max": 255})


@torch.no_grad()
def validate(model, images, masks, device, batch_size=8, threshold=0.5, stop=None):
    """Mean metrics over preprocessed tensors (images float16 (N,P,H,W), masks uint8);
    stop() is called between batches so that a cancel need not wait for the whole set."""
    model.eval()
    cut = _logit(threshold)
    per_image = []
    for i in range(0, len(images), batch_size):
        if stop is not None:
            stop()
        x = expand_planes(images[i:i + batch_size], model.in_channels).to(device)
        pred = (model(x) > cut).cpu()
        for p, m in zip(pred, masks[i:i + batch_size]):
            per_image.append(overlap_metrics(p[0], m[0] > 0))
    return mean_metrics(per_image)


def expand_planes(x, in_channels):
    x = x.float()
    return x.expand(-1, in_channels, -1, -1) if x.shape[1] == 1 and in_channels > 1 else x


def _logit(p):
    if p <= 0:
        return -math.inf
    if p >= 1:
        return math.inf
    return math.log(p / (1 - p))


def evaluate_folder(model_dir, data_dir, use_onnx=False, threshold=None, device=None):
    model, manifest = load_model(model_dir)
    spec = dict(manifest["input"]) if manifest else dict(DEFAULT_SPEC)
    spec["size"] = tuple(spec["size"])
    if threshold is None:
        threshold = manifest["output"]["threshold"] if manifest else 0.5
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
    results = []
    with torch.no_grad():
        for name, ip, mp in list_pairs(data_dir):
            img, truth = load_image(ip), load_mask(mp)
            x = prepare_image(img, spec, model.in_channels)[None].contiguous()
            prob = unletterbox(torch.sigmoid(run(x)[0, :1]), img.shape[0], img.shape[1], spec["size"])
            m = overlap_metrics(prob[0] > threshold, torch.from_numpy(np.ascontiguousarray(truth)))
            results.append({"name": name, **m})
    return {"model": os.path.abspath(model_dir), "backend": "onnxruntime" if use_onnx else "torch",
            "threshold": threshold, "images": results, "mean": mean_metrics(results)}
