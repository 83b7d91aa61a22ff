"""Multiply-accumulate (MAC) count of one forward pass, by forward hooks (no library needed).

What is counted, the convention of shared/docs/lgmsnet.md's figures:
- convolutions (2D and 3D): output elements × input channels per group × kernel volume;
- linear layers: output elements × input features;
- attention matmuls: Q·Kᵀ and softmax(·)·V, each B·P·heads·N²·head_dim for P token sequences
  of N tokens (blocks.Attention).
Biases, norms, activations, pooling, upsampling and softmax are not counted (element-wise work,
a few percent at most)."""

from __future__ import annotations

import math

import torch
import torch.nn as nn

from .blocks import Attention


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> dict:
    """MACs of model on one zero input of input_shape, e.g. (1, 3, 256, 256) or (1, 1, 96, 96, 96).

    Returns {"conv": int, "linear": int, "attention": int, "total": int}. The model runs once in
    eval mode under no_grad (its mode is restored), so the cost is one forward pass on the CPU."""
    counts = {"conv": 0, "linear": 0, "attention": 0}

    def on_conv(mod, _inp, out):
        counts["conv"] += out.numel() * (mod.in_channels // mod.groups) * math.prod(mod.kernel_size)

    def on_linear(mod, _inp, out):
        counts["linear"] += out.numel() * mod.in_features

    def on_attention(mod, inp, _out):
        b, p, n, _ = inp[0].shape
        counts["attention"] += 2 * b * p * mod.heads * n * n * mod.head_dim

    hooks = []
    for mod in model.modules():
        if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            hooks.append(mod.register_forward_hook(on_conv))
        elif isinstance(mod, nn.Linear):
            hooks.append(mod.register_forward_hook(on_linear))
        elif isinstance(mod, Attention):
            hooks.append(mod.register_forward_hook(on_attention))
    was_training = model.training
    device = next(model.parameters()).device
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(*input_shape, device=device))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    counts["total"] = counts["conv"] + counts["linear"] + counts["attention"]
    return counts
