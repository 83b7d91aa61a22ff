"""LGMSNet: U-shaped encoder/decoder built from LMS and GMS blocks (shared/docs/lgmsnet.md).
At (in_channels=3, classes=1) it has exactly 2,321,393 parameters.

The 3D variant (build_model_3d) is the same network with every 2D operation replaced by its 3D
counterpart, in the authors' small 3D configuration: widths [16, 32, 64, 128, 128] (the 2D
network's), depths [1, 1, 3, 1, 1], one input channel (docs/model-card.md, "3D LGMSNet")."""

from __future__ import annotations

import torch
import torch.nn as nn

from .blocks import GMS, LMS, Fuse, Up, conv, conv_bn_relu, pw

EXPECTED_PARAMETERS = 2_321_393
# H and W must be divisible by 2^4 (pools) × 2 (GMS patch at enc5) = 32.
SIZE_MULTIPLE = 32
# Blocks per encoder stage (enc1..enc5) in the authors' small 3D configuration; the 2D network
# has one block per stage. Our reading of a depth d: an LMS stage repeats its LMS block d times
# at the stage's input width before the PW transition; a GMS stage chains d GMS blocks, the
# first dim→channel, the others channel→channel. The decoder has no depth setting.
DEPTHS_2D = (1, 1, 1, 1, 1)
DEPTHS_3D = (1, 1, 3, 1, 1)
# Channels of the first stage; the stages have 1, 2, 4, 8, 8 times as many (16: the authors').
BASE_WIDTH = 16
# Parameters of build_model_3d(1, 14) (the authors' 3D setting: one channel, 14 classes).
EXPECTED_PARAMETERS_3D = 6_234_062


def _lms_stage(cin, cout, depth, dims):
    return nn.Sequential(*[LMS(cin, dims) for _ in range(depth)], pw(cin, cout, dims))


def _gms_stage(dim, channel, split, mlp, depth, dims):
    if depth == 1:  # a bare block, as the 2D network's parameter names have it (enc4.inp...)
        return GMS(dim, channel, split, mlp, dims)
    return nn.Sequential(GMS(dim, channel, split, mlp, dims),
                         *[GMS(channel, channel, split, mlp, dims) for _ in range(depth - 1)])


class LGMSNet(nn.Module):
    """Input (N, in_channels, H, W) for dims=2 or (N, in_channels, D, H, W) for dims=3, every
    spatial size a multiple of SIZE_MULTIPLE; output raw logits (N, classes, same spatial size)."""

    def __init__(self, in_channels: int = 3, classes: int = 1, dims: int = 2, depths: tuple[int, ...] = DEPTHS_2D,
                 width: int = BASE_WIDTH) -> None:
        super().__init__()
        if len(depths) != 5 or min(depths) < 1:
            raise ValueError("depths: five stage depths of at least 1")
        if width % 8 or width < 8:
            raise ValueError("width: the first stage's channels, a multiple of 8")
        self.in_channels, self.classes, self.dims, self.depths = in_channels, classes, dims, tuple(depths)
        self.width = width
        b = width  # the authors' widths are b, 2b, 4b, 8b, 8b with b = 16; GMS splits 3/4 + 1/4, MLP 2×
        self.pool = (nn.MaxPool2d if dims == 2 else nn.MaxPool3d)(2)
        self.stem = conv_bn_relu(in_channels, b, dims)
        self.enc1 = _lms_stage(b, b, depths[0], dims)
        self.enc2 = _lms_stage(b, 2 * b, depths[1], dims)
        self.enc3 = _lms_stage(2 * b, 4 * b, depths[2], dims)
        self.enc4 = _gms_stage(4 * b, 8 * b, (6 * b, 2 * b), 16 * b, depths[3], dims)
        self.enc5 = _gms_stage(8 * b, 8 * b, (6 * b, 2 * b), 16 * b, depths[4], dims)
        self.up5, self.dec5 = Up(8 * b, 8 * b, dims), GMS(16 * b, 8 * b, (6 * b, 2 * b), 16 * b, dims)
        self.up4, self.fuse4 = Up(8 * b, 4 * b, dims), Fuse(8 * b, 4 * b, dims)
        self.dec4 = GMS(4 * b, 4 * b, (3 * b, b), 8 * b, dims)
        self.up3, self.fuse3 = Up(4 * b, 2 * b, dims), Fuse(4 * b, 2 * b, dims)
        self.up2, self.fuse2 = Up(2 * b, b, dims), Fuse(2 * b, b, dims)
        self.head = conv(dims)(b, classes, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e1 = self.enc1(self.stem(x))
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        e4 = self.enc4(self.pool(e3))
        e5 = self.enc5(self.pool(e4))
        # The encoder skip always comes first in each concatenation.
        d = self.dec5(torch.cat([e4, self.up5(e5)], dim=1))
        d = self.dec4(self.fuse4(torch.cat([e3, self.up4(d)], dim=1)))
        d = self.fuse3(torch.cat([e2, self.up3(d)], dim=1))
        d = self.fuse2(torch.cat([e1, self.up2(d)], dim=1))
        return self.head(d)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def part_parameters(model: LGMSNet) -> dict[str, int]:
    """Per-part counts, named as in the table of lgmsnet.md."""
    names = ["stem", "enc1", "enc2", "enc3", "enc4", "enc5", "up5", "dec5", "up4", "fuse4", "dec4",
             "up3", "fuse3", "up2", "fuse2", "head"]
    return {n: count_parameters(getattr(model, n)) for n in names}


def build_model(in_channels: int = 3, classes: int = 1) -> LGMSNet:
    """The 2D network of the paper (input N×in_channels×H×W)."""
    return LGMSNet(in_channels=in_channels, classes=classes)


def build_model_3d(in_channels: int = 1, classes: int = 14, width: int = BASE_WIDTH) -> LGMSNet:
    """The authors' small 3D configuration (input N×in_channels×D×H×W, D, H, W multiples of 32;
    14 classes = 13 organs + background in their BTCV setting). width < 16 (a multiple of 8) is
    our narrower variant for CPU training (`train --width`, docs/model-card.md); 16 is theirs."""
    return LGMSNet(in_channels=in_channels, classes=classes, dims=3, depths=DEPTHS_3D, width=width)
