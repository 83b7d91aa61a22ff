"""LGMSNet: U-shaped encoder/decoder built from LMS and GMS blocks (shared/docs/lgmsnet.md).
At (in_channels=3, classes=1) it has exactly 2,321,393 parameters."""

from __future__ import annotations

import torch
import torch.nn as nn

from .blocks import GMS, LMS, Fuse, Up, conv_bn_relu, pw

EXPECTED_PARAMETERS = 2_321_393
# H and W must be divisible by 2^4 (pools) × 2 (GMS patch at enc5) = 32.
SIZE_MULTIPLE = 32


class LGMSNet(nn.Module):
    def __init__(self, in_channels: int = 3, classes: int = 1) -> None:
        super().__init__()
        self.in_channels, self.classes = in_channels, classes
        self.pool = nn.MaxPool2d(2)
        self.stem = conv_bn_relu(in_channels, 16)
        self.enc1 = nn.Sequential(LMS(16), pw(16, 16))
        self.enc2 = nn.Sequential(LMS(16), pw(16, 32))
        self.enc3 = nn.Sequential(LMS(32), pw(32, 64))
        self.enc4 = GMS(64, 128, (96, 32), 256)
        self.enc5 = GMS(128, 128, (96, 32), 256)
        self.up5, self.dec5 = Up(128, 128), GMS(256, 128, (96, 32), 256)
        self.up4, self.fuse4, self.dec4 = Up(128, 64), Fuse(128, 64), GMS(64, 64, (48, 16), 128)
        self.up3, self.fuse3 = Up(64, 32), Fuse(64, 32)
        self.up2, self.fuse2 = Up(32, 16), Fuse(32, 16)
        self.head = nn.Conv2d(16, classes, 1, bias=True)

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
    return LGMSNet(in_channels=in_channels, classes=classes)
