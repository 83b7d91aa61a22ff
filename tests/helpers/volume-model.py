"""A seeded, untrained LGMSNet for the 3D tests and the CT benchmark (issue 25): the trainer's own
network (build_model_3d, or build_model for a 2D twin with the same labels) exported with the
trainer's exporter (lgms_trainer.export.export_onnx: input "input", output "logits", batch and
spatial axes dynamic), beside a model.json with SPEC3D's fields. BatchNorm statistics and the head
are drawn as in resources/trainer/tests/test_model3d.py; the 1x1 head is then calibrated on a
blocky sample input (its features standardised, the bias centring them), because a random head
gives one class everywhere, and a label map that varies is what shows slice order and storage. The weights are random: these models measure
the pipeline (shapes, storage, time, memory), never segmentation quality.

Usage: python3 volume-model.py OUT_DIR [--dims 3] [--classes 5] [--values 1,2,3,4]
       [--patch 32,32,32] [--spacing 2.5,1.5,1.5] [--size 64] [--seed 0] [--id ID] [--parent ID]
Needs torch and resources/trainer on PYTHONPATH (read-only use of lgms_trainer)."""

import argparse
import json
import os
from datetime import datetime, timezone

import torch

from lgms_trainer import __version__
from lgms_trainer.export import export_onnx
from lgms_trainer.model import build_model, build_model_3d, count_parameters, DEPTHS_2D, DEPTHS_3D

NAMES = ["Liver", "Spleen", "Right kidney", "Left kidney"]


def ints(text):
    return [int(v) for v in text.split(",")]


def calibrate_head(model, dims):
    """Head weights divided by each feature's spread on a sample (times 3) and the bias set so a
    mean feature scores 0 for every class: the argmax then follows the features, not the bias."""
    g = torch.Generator().manual_seed(1)
    shape = (1, 1) + (32,) * dims
    x = torch.zeros(shape)
    core = (slice(None), slice(None)) + (slice(8, 24),) * dims
    x[core] = 0.6
    x += 0.05 * torch.randn(shape, generator=g)
    feats = {}
    hook = model.head.register_forward_hook(lambda mod, i, o: feats.__setitem__("f", i[0]))
    with torch.no_grad():
        model(x)
        hook.remove()
        f = feats["f"]
        axes = tuple(d for d in range(f.dim()) if d != 1)
        mean, std = f.mean(dim=axes), f.std(dim=axes).clamp_min(1e-6)
        model.head.weight.div_(std.view(1, -1, *([1] * dims))).mul_(3)
        model.head.bias.copy_(-(model.head.weight.flatten(1) @ mean))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--dims", type=int, default=3, choices=[2, 3])
    p.add_argument("--classes", type=int, default=5)
    p.add_argument("--values", default="")
    p.add_argument("--patch", default="32,32,32")
    p.add_argument("--spacing", default="2.5,1.5,1.5")
    p.add_argument("--size", type=int, default=64, help="a 2D model's input size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--id", default="")
    p.add_argument("--parent", default=None)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    classes = a.classes
    model = build_model_3d(1, classes) if a.dims == 3 else build_model(1, classes)
    norm = torch.nn.BatchNorm3d if a.dims == 3 else torch.nn.BatchNorm2d
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, norm):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
    model.eval()
    calibrate_head(model, a.dims)
    os.makedirs(a.out, exist_ok=True)
    patch = ints(a.patch)
    size = [a.size, a.size] if a.dims == 2 else patch[1:]
    export_onnx(model, os.path.join(a.out, "model.onnx"), tuple(patch) if a.dims == 3 else tuple(size))
    values = ints(a.values) if a.values else list(range(1, classes))
    labels = [NAMES[i] if i < len(NAMES) else f"Label {i + 1}" for i in range(classes - 1)]
    architecture = {"name": "LGMSNet", "inChannels": 1, "classes": classes, "parameters": count_parameters(model)}
    inputs = {"channels": 1, "size": size, "channelMode": "replicate", "resize": "letterbox",
              "normalization": {"type": "window", "center": 40, "width": 400}}
    if a.dims == 3:
        architecture.update({"dims": 3, "depths": list(DEPTHS_3D)})
        inputs.update({"patch": patch, "spacing": [float(v) for v in a.spacing.split(",")]})
    else:
        architecture["depths"] = list(DEPTHS_2D)
    manifest = {
        "format": "lgms-model/1",
        "id": a.id or f"test-ct-{a.dims}d-seed{a.seed}",
        "name": f"Test CT LGMSNet {a.dims}D (seeded, untrained)",
        "version": "0.0.1",
        "parent": a.parent,
        "created": datetime.now(timezone.utc).isoformat(),
        "architecture": architecture,
        "input": inputs,
        "output": {"classes": classes, "labels": labels, "values": values, "activation": "softmax"},
        "files": {"onnx": "model.onnx"},
        "training": {"data": "none: seeded random weights (tests/helpers/volume-model.py)", "command": "", "seed": a.seed},
        "metrics": {},
        "trainerVersion": __version__,
        "domain": {"modalities": ["CT"], "photometric": ["MONOCHROME2"], "bodyPart": "abdomen (synthetic phantom)"},
    }
    with open(os.path.join(a.out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)


if __name__ == "__main__":
    main()
