"""Building blocks of LGMSNet (see shared/docs/lgmsnet.md): small conv units, the local
multiscale (LMS) block and the global multiscale (GMS) block with its sparse transformer.

Every block takes `dims` = 2 (images, the default: the 2D network of the paper) or 3 (volumes:
the authors' 3D variant, which replaces each 2D operation by its 3D counterpart — Conv3d,
BatchNorm3d, trilinear upsampling, 2×2×2 patches in the transformer). dims=2 builds exactly the
modules, parameter names and computations it built before the 3D variant existed."""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-5


def conv(dims: int) -> type[nn.Module]:
    """nn.Conv2d for dims=2, nn.Conv3d for dims=3 (kernel sizes are given as one int: k×k or k×k×k)."""
    if dims not in (2, 3):
        raise ValueError("dims must be 2 or 3")
    return nn.Conv2d if dims == 2 else nn.Conv3d


def bn(channels: int, dims: int) -> nn.Module:
    return (nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d)(channels, eps=EPS)


def conv_bn_relu(cin: int, cout: int, dims: int = 2) -> nn.Sequential:
    return nn.Sequential(conv(dims)(cin, cout, 3, padding=1, bias=True),
                         bn(cout, dims), nn.ReLU(inplace=True))


def pw(cin: int, cout: int, dims: int = 2) -> nn.Sequential:
    return nn.Sequential(conv(dims)(cin, cout, 1, bias=False),
                         bn(cout, dims), nn.SiLU(inplace=True))


def c3(cin: int, cout: int, dims: int = 2) -> nn.Sequential:
    return nn.Sequential(conv(dims)(cin, cout, 3, padding=1, bias=False),
                         bn(cout, dims), nn.SiLU(inplace=True))


class Up(nn.Sequential):
    """×2 upsampling (bilinear in 2D, trilinear in 3D; align_corners false) → 3×3(×3) conv → BN → ReLU."""

    def __init__(self, cin: int, cout: int, dims: int = 2) -> None:
        mode = "bilinear" if dims == 2 else "trilinear"
        super().__init__(nn.Upsample(scale_factor=2, mode=mode, align_corners=False),
                         conv(dims)(cin, cout, 3, padding=1, bias=True),
                         bn(cout, dims), nn.ReLU(inplace=True))


class Fuse(nn.Sequential):
    """Decoder fusion; the activation precedes the norm, as the paper's layer order has it."""

    def __init__(self, cin: int, cout: int, dims: int = 2) -> None:
        c = conv(dims)
        super().__init__(
            c(cin, cin, 3, padding=1, groups=2, bias=True), nn.GELU(), bn(cin, dims),
            c(cin, 4 * cout, 1, bias=True), nn.GELU(), bn(4 * cout, dims),
            c(4 * cout, cout, 1, bias=True), nn.GELU(), bn(cout, dims))


class StableGroupNorm(nn.GroupNorm):
    """GroupNorm whose statistics are reduced axis by axis (W, then H, then channels).

    Same parameters and result as nn.GroupNorm; only the export differs. The default export
    (InstanceNormalization) and a single ReduceMean both sum 65,536+ values in float32 in
    onnxruntime, which put its logits 4e-3 away from PyTorch's on the starter model; staged
    means keep every sum short and bring it to 6e-5 (tests/integration/model-parity.test.ts).

    Training uses PyTorch's fused group norm instead: the staged means build eleven tensors
    per call and their backward, which made a 128², batch-8 training step 1.3x slower
    (docs/benchmarks.md, "training step"). Evaluation, the reference file and the export keep
    the staged form, so parity figures are unchanged.
    """

    # Switched off only by `bench --compare-norm`, to time the staged form in training.
    fused_in_training = True

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.fused_in_training and not torch.onnx.is_in_onnx_export():
            return F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
        if x.dim() == 5:
            return self._staged_3d(x)
        n, c, h, w = x.shape
        v = x.reshape(n, self.num_groups, c // self.num_groups, h, w)
        mean = v.mean(dim=4, keepdim=True).mean(dim=3, keepdim=True).mean(dim=2, keepdim=True)
        d = v - mean
        var = (d * d).mean(dim=4, keepdim=True).mean(dim=3, keepdim=True).mean(dim=2, keepdim=True)
        y = (d / torch.sqrt(var + self.eps)).reshape(n, c, h, w)
        return y * self.weight.reshape(1, -1, 1, 1) + self.bias.reshape(1, -1, 1, 1)

    def _staged_3d(self, x):
        """The staged form for volumes (N, C, D, H, W): means over W, H, D, then channels."""
        n, c, d, h, w = x.shape
        v = x.reshape(n, self.num_groups, c // self.num_groups, d, h, w)

        def mean(t):
            return t.mean(dim=5, keepdim=True).mean(dim=4, keepdim=True).mean(dim=3, keepdim=True).mean(
                dim=2, keepdim=True)

        centred = v - mean(v)
        y = (centred / torch.sqrt(mean(centred * centred) + self.eps)).reshape(n, c, d, h, w)
        return y * self.weight.reshape(1, -1, 1, 1, 1) + self.bias.reshape(1, -1, 1, 1, 1)


def _fft_size(n: int) -> int:
    """The smallest size >= n whose only prime factors are 2, 3 and 5 (pocketfft's fast sizes)."""
    while True:
        m = n
        for f in (2, 3, 5):
            while m % f == 0:
                m //= f
        if m == 1:
            return n
        n += 1


def depthwise_conv3d_fft(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]) -> torch.Tensor:
    """F.conv3d(x, weight, bias, padding=k // 2, groups=C) for a depthwise k×k×k kernel (odd k),
    computed through the FFT (convolution theorem: cross-correlation = product of the spectra of x
    and the flipped kernel; zero padding to ≥ D+k−1, H+k−1, W+k−1 makes the circular convolution
    linear, then the centre D×H×W is cropped).

    x: (N, C, D, H, W) float32; weight: (C, 1, k, k, k); bias: (C,) or None. Same result as the
    direct convolution within ~1e-6 relative (float32 rounding), gradients through autograd.
    Why: PyTorch 1.13's CPU Conv3d takes 0.40 s forward and backward for a depthwise 9³ kernel
    on 4×2×32³ voxels, this 0.015 s (docs/benchmarks.md, "3D training step")."""
    c, k = x.shape[1], weight.shape[-1]
    p = k // 2
    d, h, w = x.shape[2], x.shape[3], x.shape[4]
    size = [_fft_size(d + k - 1), _fft_size(h + k - 1), _fft_size(w + k - 1)]
    spectrum = torch.fft.rfftn(x, s=size, dim=(2, 3, 4))
    kernel = torch.fft.rfftn(weight.flip(-1, -2, -3).reshape(1, c, k, k, k), s=size, dim=(2, 3, 4))
    y = torch.fft.irfftn(spectrum * kernel, s=size, dim=(2, 3, 4))[:, :, p:p + d, p:p + h, p:p + w]
    return y if bias is None else y + bias.reshape(1, c, 1, 1, 1)


class DepthwiseConv3d(nn.Conv3d):
    """A depthwise k×k×k Conv3d (groups = channels, padding k // 2) that trains through the FFT
    for k >= FFT_FROM (depthwise_conv3d_fft). Same parameters and names as nn.Conv3d; evaluation,
    the reference file and the ONNX export use the direct convolution, so parity is unchanged."""

    #: Kernel sizes from which the FFT is faster here (measured: 3³ direct 16 ms vs FFT 18 ms, 5³ 70 vs 20 ms).
    FFT_FROM = 5
    #: Switched off only to time or compare the direct form in training.
    fft_in_training = True

    def __init__(self, channels: int, k: int) -> None:
        super().__init__(channels, channels, k, padding=k // 2, groups=channels, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (self.training and self.fft_in_training and self.kernel_size[0] >= self.FFT_FROM
                and not torch.onnx.is_in_onnx_export()):
            return depthwise_conv3d_fft(x, self.weight, self.bias)
        return super().forward(x)


class LMS(nn.Module):
    """Local multiscale block: four channel groups, each with its own depthwise kernel size."""

    KERNELS = (3, 5, 7, 9)

    def __init__(self, channels: int, dims: int = 2) -> None:
        super().__init__()
        if channels % 4:
            raise ValueError("LMS channels must be divisible by 4")
        g = channels // 4
        self.group = g
        self.dw = nn.ModuleList(DepthwiseConv3d(g, k) if dims == 3 else nn.Conv2d(g, g, k, padding=k // 2, groups=g, bias=True)
                                for k in self.KERNELS)
        self.norm = StableGroupNorm(4, channels, eps=EPS)
        self.act = nn.GELU()
        self.squeeze = pw(channels, g, dims)
        self.expand = c3(g, channels, dims)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        parts = torch.split(r, self.group, dim=1)
        y = torch.cat([conv(p) for conv, p in zip(self.dw, parts)], dim=1)
        y = self.act(self.norm(y + r))
        return self.expand(self.squeeze(y)) + r


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int = 4, head_dim: int = 8) -> None:
        super().__init__()
        self.heads, self.head_dim = heads, head_dim
        inner = heads * head_dim
        self.qkv = nn.Linear(dim, 3 * inner, bias=False)
        self.out = nn.Linear(inner, dim, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, P, N, D) — P independent token sequences (one per position inside a 2×2 patch,
        # P = 4; or inside a 2×2×2 patch in 3D, P = 8).
        b, p, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, p, n, 3, self.heads, self.head_dim).permute(3, 0, 1, 4, 2, 5)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each (B, P, heads, N, head_dim)
        if hasattr(F, "scaled_dot_product_attention") and not torch.onnx.is_in_onnx_export():
            # torch 2.x: fused kernel avoids materialising the N×N map (1024² at dec4).
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            attn = torch.matmul(q, k.transpose(-1, -2)) * (1.0 / math.sqrt(self.head_dim))
            o = torch.matmul(attn.softmax(dim=-1), v)
        o = o.permute(0, 1, 3, 2, 4).reshape(b, p, n, self.heads * self.head_dim)
        return self.out(o)


class TransformerLayer(nn.Module):
    def __init__(self, dim: int, mlp: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=EPS)
        self.attn = Attention(dim)
        self.norm2 = nn.LayerNorm(dim, eps=EPS)
        self.ffn = nn.Sequential(nn.Linear(dim, mlp), nn.SiLU(), nn.Linear(mlp, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attn(self.norm1(x)) + x
        return self.ffn(self.norm2(x)) + x


def unfold_patches(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B, 4, H/2·W/2, C). Sizes come from x.shape at run time so that
    tracing records Shape ops and the ONNX graph keeps batch, H and W dynamic."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // 2, 2, w // 2, 2).permute(0, 3, 5, 2, 4, 1)
    return x.reshape(b, 4, -1, c)


def fold_patches(t: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Inverse of unfold_patches; h, w are the (possibly traced) spatial sizes."""
    b, _, _, c = t.shape
    t = t.reshape(b, 2, 2, h // 2, w // 2, c).permute(0, 5, 3, 1, 4, 2)
    return t.reshape(b, c, h, w)


def unfold_patches_3d(x: torch.Tensor) -> torch.Tensor:
    """(B, C, D, H, W) → (B, 8, D/2·H/2·W/2, C): each of the 8 positions inside a 2×2×2 patch
    forms its own token sequence (sequence p = 4·i + 2·j + k holds voxel (2a+i, 2b+j, 2c+k) of
    token (a·H/2 + b)·W/2 + c). Sizes come from x.shape at run time, as in unfold_patches, so
    the ONNX graph keeps batch, D, H and W dynamic."""
    b, c, d, h, w = x.shape
    x = x.reshape(b, c, d // 2, 2, h // 2, 2, w // 2, 2).permute(0, 3, 5, 7, 2, 4, 6, 1)
    return x.reshape(b, 8, -1, c)


def fold_patches_3d(t: torch.Tensor, d: int, h: int, w: int) -> torch.Tensor:
    """Inverse of unfold_patches_3d; d, h, w are the (possibly traced) spatial sizes."""
    b, _, _, c = t.shape
    t = t.reshape(b, 2, 2, 2, d // 2, h // 2, w // 2, c).permute(0, 7, 4, 1, 5, 2, 6, 3)
    return t.reshape(b, c, d, h, w)


class GMS(nn.Module):
    """Global multiscale block: transformer over a stride-2 token grid on s0 channels,
    a cheap depthwise branch on the other s1 channels."""

    def __init__(self, dim: int, channel: int, split: tuple[int, int], mlp: int, dims: int = 2) -> None:
        super().__init__()
        s0, s1 = split
        if s0 + s1 != channel:
            raise ValueError("GMS split must sum to channel")
        self.split = (s0, s1)
        self.dims = dims
        c = conv(dims)
        self.inp = nn.Sequential(c3(dim, channel, dims), pw(channel, channel, dims))
        self.local = nn.Sequential(
            c(s1, s1, 3, padding=1, groups=s1, bias=False), bn(s1, dims), nn.ReLU(inplace=True),
            c(s1, s1, 1, groups=s1, bias=False), bn(s1, dims))
        self.transformer = TransformerLayer(s0, mlp)
        self.mix = pw(channel, channel, dims)
        self.fuse = c3(dim + channel, channel, dims)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        x = self.inp(y)
        x1, x2 = torch.split(x, self.split, dim=1)
        x2 = x2 + self.local(x2)
        if self.dims == 3:
            d, h, w = x1.shape[2], x1.shape[3], x1.shape[4]
            x1 = fold_patches_3d(self.transformer(unfold_patches_3d(x1)), d, h, w)
        else:
            h, w = x1.shape[2], x1.shape[3]
            x1 = fold_patches(self.transformer(unfold_patches(x1)), h, w)
        x = self.mix(torch.cat([x1, x2], dim=1))
        return self.fuse(torch.cat([x, y], dim=1))
