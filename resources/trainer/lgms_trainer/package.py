"""The model package folder: weights.pt (state_dict + config), model.onnx and model.json
(format "lgms-model/1", validated by the TypeScript side)."""

from __future__ import annotations

import datetime
import inspect
import json
import os
from typing import Any, Sequence

import torch

from . import __version__
from .labels import LabelMap
from .model import BASE_WIDTH, DEPTHS_2D, LGMSNet, count_parameters
from .runtime import write_atomic

FORMAT = "lgms-model/1"
WEIGHTS_FORMAT = "lgms-weights/1"


def save_weights(path: str, model: LGMSNet, state_dict: dict[str, torch.Tensor] | None = None) -> None:
    """Atomic save of {"format", "trainerVersion", "config", "state_dict"} (CPU tensors)."""
    write_atomic(path, lambda tmp: write_weights(tmp, model, state_dict))


def write_weights(path: str, model: LGMSNet, state_dict: dict[str, torch.Tensor] | None = None) -> None:
    state = {k: v.detach().cpu() for k, v in (state_dict or model.state_dict()).items()}
    config: dict[str, Any] = {"in_channels": model.in_channels, "classes": model.classes}
    if getattr(model, "dims", 2) == 3:  # 2D files stay as they were
        config.update(dims=3, depths=list(model.depths), width=model.width)
    payload = {"format": WEIGHTS_FORMAT, "trainerVersion": __version__, "config": config, "state_dict": state}
    torch.save(payload, path)


def load_weights(path: str) -> dict[str, Any]:
    # weights_only refuses pickled code in a model file someone handed over (torch >= 1.13).
    kwargs = {"weights_only": True} if "weights_only" in inspect.signature(torch.load).parameters else {}
    payload = torch.load(path, map_location="cpu", **kwargs)
    if not isinstance(payload, dict) or "state_dict" not in payload or "config" not in payload:
        raise ValueError(f"{path} is not an LGMS weights file (expected state_dict + config)")
    return payload


def load_model(folder: str) -> tuple[LGMSNet, dict[str, Any] | None]:
    """(model in eval mode on CPU, model.json dict or None) from a package folder; a 3D model
    (config dims 3) comes back as the 3D network with its stage depths."""
    payload = load_weights(os.path.join(folder, "weights.pt"))
    model = model_for_config(payload["config"])
    model.load_state_dict(payload["state_dict"])
    model.eval()
    return model, read_manifest(folder)


def model_for_config(cfg: dict[str, Any]) -> LGMSNet:
    """A fresh LGMSNet for a weights file's config: {in_channels, classes[, dims, depths]}."""
    dims = int(cfg.get("dims", 2))
    return LGMSNet(cfg["in_channels"], cfg["classes"], dims=dims, depths=tuple(cfg.get("depths", DEPTHS_2D)),
                   width=int(cfg.get("width", BASE_WIDTH)))


def read_manifest(folder: str) -> dict[str, Any] | None:
    path = os.path.join(folder, "model.json")
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def default_input_spec(size: Sequence[int], channel_mode: str, normalization: dict[str, Any],
                       in_channels: int = 3) -> dict[str, Any]:
    return {"channels": in_channels, "size": list(size), "channelMode": channel_mode,
            "resize": "letterbox", "normalization": normalization}


def build_manifest(*, model: torch.nn.Module, model_id: str, name: str, version: str, parent: str | None,
                   input_spec: dict, labels: list[str], threshold: float, training: dict, validation: dict,
                   label_map: LabelMap | None = None) -> dict:
    """model.json. Binary (1 class): output {"classes": 1, "labels", "activation": "sigmoid",
    "threshold"}. Multi-class (label_map: labels.LabelMap, classes = labels + 1, channel 0
    background): output {"classes", "labels": names, "values": mask values, "activation":
    "softmax"} and a top-level "task" copied from the label-map file's "task" (when it has one)."""
    if label_map is not None:
        output = {"classes": model.classes, "labels": label_map.names, "values": label_map.values, "activation": "softmax"}
    else:
        output = {"classes": model.classes, "labels": list(labels), "activation": "sigmoid", "threshold": threshold}
    manifest = {
        "format": FORMAT,
        "id": model_id,
        "name": name,
        "version": version,
        "parent": parent,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "architecture": {"name": "LGMSNet", "inChannels": model.in_channels, "classes": model.classes,
                         "parameters": count_parameters(model)},
        "input": input_spec,
        "output": output,
        "files": {"onnx": "model.onnx", "weights": "weights.pt"},
        "training": training,
        "metrics": {"validation": validation},
        "trainerVersion": __version__,
    }
    if label_map is not None and label_map.task is not None:
        manifest["task"] = label_map.task
    return manifest
