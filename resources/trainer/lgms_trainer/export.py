"""ONNX export (opset 17) with dynamic batch, height and width (and depth for the 3D network)."""

from __future__ import annotations

import copy
import inspect
import os
import warnings
from typing import Any

import torch
import torch.nn as nn

from .model import SIZE_MULTIPLE
from .runtime import write_atomic

OPSET = 17


def export_onnx(model: nn.Module, path: str, sample_size: tuple[int, int] = (256, 256)) -> str:
    """Export to path atomically (temporary name in the same folder, then os.replace)."""
    write_atomic(path, lambda tmp: write_onnx(model, tmp, sample_size))
    return path


def write_onnx(model: nn.Module, path: str, sample_size: tuple[int, int] = (256, 256)) -> None:
    """Export a copy of model (CPU, eval) to path and check it with onnx when present.
    2D model: input "input" (N, C, H, W) float32, output "logits" (N, classes, H, W), sample_size
    (H, W). 3D model (dims 3): input (N, C, D, H, W), output (N, classes, D, H, W), sample_size
    (D, H, W); every axis but C dynamic. Spatial sizes must be multiples of 32 (ValueError)."""
    dims = getattr(model, "dims", 2)
    if len(sample_size) != dims:
        raise ValueError(f"export size needs {dims} spatial sizes for a {dims}D model")
    if any(s % SIZE_MULTIPLE for s in sample_size):
        raise ValueError(f"export size must be a multiple of {SIZE_MULTIPLE}")
    m = copy.deepcopy(model).cpu().eval()
    x = torch.zeros(1, m.in_channels, *sample_size)
    axes = {0: "batch", 2: "height", 3: "width"} if dims == 2 else {0: "batch", 2: "depth", 3: "height", 4: "width"}
    kwargs = dict(input_names=["input"], output_names=["logits"], opset_version=OPSET,
                  do_constant_folding=True, dynamic_axes={"input": axes, "logits": dict(axes)})
    # torch >= 2.5 may default to the dynamo exporter; the TorchScript one gives the graph we test.
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False

    with torch.no_grad(), warnings.catch_warnings():
        # Two harmless torch 1.13 warnings: shape inference of the patch fold's shape arithmetic
        # (the graph is still exact; tests run it at several sizes), and group_norm's
        # "more than 1 value per channel" check, which only guards against an error.
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        warnings.filterwarnings("ignore", message="Converting a tensor to a Python boolean")
        torch.onnx.export(m, (x,), path, **kwargs)
    check_onnx(path)


def check_onnx(path: str) -> bool:
    """Run onnx.checker when the onnx package exists; returns True if it ran."""
    try:
        import onnx
    except ImportError:
        return False
    onnx.checker.check_model(onnx.load(path))
    return True


def onnx_session(path: str | os.PathLike[str]) -> Any:
    """An onnxruntime session, or None when onnxruntime for Python is not installed."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    return ort.InferenceSession(os.fspath(path), providers=["CPUExecutionProvider"])
