"""A small multi-class (softmax) LGMSNet for tests and benchmarks, made reproducibly from the
starter's weights: every layer is the starter's, the 1x1 head is replaced by five classes that
are fixed affine maps of the starter's lesion logit l (background 0, then l, 2l-3, 3l-7, 4l-12).
The argmax is background where l < 0 and then nested rings by the starter's confidence: label 1
for 0 < l < 3, label 2 for 3 < l < 4, label 3 for 4 < l < 5, label 4 for l > 5. So the network
costs what the binary starter costs and its foreground lies where the starter's does, which makes
it a fair multi-class twin for the inference benchmarks (tests/bench/inference.ts, whole-study.ts).

Usage: python3 multiclass-model.py STARTER_DIR OUT_DIR [--values 1,2,4,5] [--channel-mode replicate]
Needs torch and resources/trainer on PYTHONPATH (read-only use of lgms_trainer)."""

import argparse
import json
import os

import torch

from lgms_trainer.export import export_onnx
from lgms_trainer.model import build_model
from lgms_trainer.package import load_weights

SLOPES = [0.0, 1.0, 2.0, 3.0, 4.0]
OFFSETS = [0.0, 0.0, -3.0, -7.0, -12.0]
LABELS = ["outer", "middle", "inner", "core"]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("starter")
    p.add_argument("out")
    p.add_argument("--values", default="1,2,4,5")
    p.add_argument("--channel-mode", default="replicate")
    a = p.parse_args()
    torch.manual_seed(0)
    payload = load_weights(os.path.join(a.starter, "weights.pt"))
    state = payload["state_dict"]
    model = build_model(payload["config"]["in_channels"], len(SLOPES))
    w0, b0 = state["head.weight"], state["head.bias"]  # (1, 16, 1, 1), (1,)
    head_w = torch.cat([s * w0 for s in SLOPES], dim=0)
    head_b = torch.stack([s * b0[0] + o for s, o in zip(SLOPES, OFFSETS)])
    state = {**state, "head.weight": head_w, "head.bias": head_b}
    model.load_state_dict(state)
    model.eval()
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.starter, "model.json"), encoding="utf-8") as f:
        m = json.load(f)
    export_onnx(model, os.path.join(a.out, "model.onnx"), tuple(m["input"]["size"]))
    values = [int(v) for v in a.values.split(",")]
    m.update({
        "id": "test-multiclass" if a.channel_mode == "replicate" else f"test-multiclass-{a.channel_mode}",
        "name": "Test multi-class LGMSNet (starter layers, fixed five-class head)",
        "version": "0.0.1",
        "parent": None,
        "architecture": {**m["architecture"], "classes": len(SLOPES)},
        "output": {"classes": len(SLOPES), "labels": LABELS, "activation": "softmax", "values": values},
        "files": {"onnx": "model.onnx"},
    })
    m["input"]["channelMode"] = a.channel_mode
    m.pop("referenceSet", None)
    m["metrics"] = {}
    m["training"] = {**m["training"], "data": "none: the starter's layers with a fixed five-class head (tests/helpers/multiclass-model.py)"}
    with open(os.path.join(a.out, "model.json"), "w", encoding="utf-8") as f:
        json.dump(m, f, indent=2)


if __name__ == "__main__":
    main()
