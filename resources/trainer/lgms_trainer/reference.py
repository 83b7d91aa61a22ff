"""Reference input/output pair for the TypeScript parity test.

File layout: uint32 LE header length L, L bytes of UTF-8 JSON
{"inputShape": [...], "outputShape": [...]}, then the input as float32 LE, then the output
as float32 LE (both C order)."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import torch
import torch.nn as nn

from .runtime import write_atomic


def reference_input(shape: tuple[int, ...]) -> np.ndarray:
    """x[n,c,h,w] = sin(0.05·(h+1)·(c+1) + 0.07·(w+1)·(n+1)) · cos(0.031·(h−w)), float64 → float32.
    A 5-D shape (n, c, d, h, w) (the 3D network) adds 0.09·(d+1) inside the sine."""
    if len(shape) == 5:
        return _reference_input_3d(shape)
    n, c, h, w = shape
    ni, ci, hi, wi = np.meshgrid(np.arange(n, dtype=np.float64), np.arange(c, dtype=np.float64),
                                 np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                                 indexing="ij")
    x = np.sin(0.05 * (hi + 1) * (ci + 1) + 0.07 * (wi + 1) * (ni + 1)) * np.cos(0.031 * (hi - wi))
    return x.astype(np.float32)


def _reference_input_3d(shape):
    ni, ci, di, hi, wi = np.meshgrid(*(np.arange(s, dtype=np.float64) for s in shape), indexing="ij")
    x = np.sin(0.05 * (hi + 1) * (ci + 1) + 0.07 * (wi + 1) * (ni + 1) + 0.09 * (di + 1)) * np.cos(0.031 * (hi - wi))
    return x.astype(np.float32)


def run_reference(model: nn.Module, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    x = reference_input(shape)
    model = model.cpu().eval()
    with torch.no_grad():
        y = model(torch.from_numpy(x)).numpy().astype(np.float32)
    return x, y


def encode(x: np.ndarray, y: np.ndarray) -> bytes:
    header = json.dumps({"inputShape": list(x.shape), "outputShape": list(y.shape)}).encode("utf-8")
    return (struct.pack("<I", len(header)) + header
            + x.astype("<f4").tobytes(order="C") + y.astype("<f4").tobytes(order="C"))


def decode(blob: bytes) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    (n,) = struct.unpack_from("<I", blob, 0)
    header = json.loads(blob[4:4 + n].decode("utf-8"))
    xs, ys = header["inputShape"], header["outputShape"]
    off = 4 + n
    x = np.frombuffer(blob, "<f4", int(np.prod(xs)), off).reshape(xs)
    y = np.frombuffer(blob, "<f4", int(np.prod(ys)), off + x.nbytes).reshape(ys)
    return header, x, y


def write_reference(model: nn.Module, shape: tuple[int, int, int, int], path: str) -> dict[str, Any]:
    x, y = run_reference(model, shape)
    blob = encode(x, y)

    def writer(tmp: str) -> None:
        with open(tmp, "wb") as f:
            f.write(blob)

    write_atomic(path, writer)
    return {"inputShape": list(x.shape), "outputShape": list(y.shape), "bytes": len(blob)}
