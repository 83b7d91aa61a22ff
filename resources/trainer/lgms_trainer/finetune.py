"""Fine-tuning without forgetting: the parts of a run that keep the parent's own domain.

Three measures, each optional and each measured in docs/benchmarks.md ("Fine-tuning"):
- replay: every batch mixes the new labelled images with a sample of the parent's reference
  set (rehearsal; Robins 1995, "Catastrophic forgetting, rehearsal and pseudorehearsal");
- anchor: an L2 penalty toward the parent's weights, α/2·‖w − w_parent‖² (L2-SP; Li, Grandvalet
  & Davoine 2018, "Explicit inductive bias for transfer learning with convolutional networks"),
  added to the gradient directly rather than built into the autograd graph;
- frozen normalisation: batch-norm layers keep the parent's running statistics (their scale
  and shift still train), so a few batches of another domain cannot move the statistics that
  every base-domain image is normalised with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

import numpy as np
import torch
import torch.nn as nn


@dataclass(frozen=True)
class Recipe:
    """How a fine-tuning run protects the parent's domain (all off = a plain fine-tune)."""

    replay_dir: Optional[str] = None  # images/ + masks/ of the parent's domain
    replay_fraction: float = 0.0  # share of each batch drawn from the replay set, 0..0.9
    anchor: float = 0.0  # α of the L2-SP penalty (per parameter, summed)
    freeze_norm: bool = False
    appearance: float = 0.0  # probability of a random scanner-appearance change per image
    zoom: float = 0.0  # largest relative zoom of the scale augmentation (0 = off)
    ema: float = 0.0  # decay of the weight average validated and saved (0 = the live weights)
    mirror_only: bool = False  # left-right mirroring only, no up-down flips or 90° rotations
    no_flip: bool = False  # no flips or turns at all: the task's labels have a side (right and left kidney)

    def __post_init__(self) -> None:
        if not 0.0 <= self.replay_fraction <= 0.9:
            raise ValueError("--replay-fraction must be between 0 and 0.9")
        if self.replay_fraction > 0 and not self.replay_dir:
            raise ValueError("--replay-fraction needs --replay")
        if self.anchor < 0:
            raise ValueError("--anchor must be >= 0")
        if not 0.0 <= self.appearance <= 1.0:
            raise ValueError("--appearance must be between 0 and 1")
        if not 0.0 <= self.zoom < 1.0:
            raise ValueError("--zoom must be between 0 and 1")
        if not 0.0 <= self.ema < 1.0:
            raise ValueError("--ema must be between 0 and 1")

    def describe(self) -> str:
        parts = []
        if self.replay_dir and self.replay_fraction > 0:
            parts.append(f"replay {self.replay_fraction:g} of each batch")
        if self.anchor > 0:
            parts.append(f"L2-SP anchor {self.anchor:g}")
        if self.freeze_norm:
            parts.append("batch-norm statistics frozen")
        if self.appearance > 0:
            parts.append(f"appearance augmentation p={self.appearance:g}")
        if self.zoom > 0:
            parts.append(f"zoom ±{self.zoom:g}")
        if self.ema > 0:
            parts.append(f"weight average decay {self.ema:g}")
        if self.no_flip:
            parts.append("no flips or turns")
        elif self.mirror_only:
            parts.append("left-right mirroring only")
        return ", ".join(parts) or "plain"

    def split_batch(self, batch_size: int, have_replay: bool) -> tuple[int, int]:
        """(new images, replay images) per batch; at least one new image."""
        if not have_replay or self.replay_fraction <= 0:
            return batch_size, 0
        k = min(batch_size - 1, int(round(batch_size * self.replay_fraction)))
        return batch_size - k, k


def freeze_norm_statistics(model: nn.Module) -> None:
    """Put every batch-norm layer in eval mode (call after model.train())."""
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.eval()


class Anchor:
    """Adds α·(w − w_parent) to each gradient: the gradient of α/2·‖w − w_parent‖²."""

    def __init__(self, params: Iterable[nn.Parameter], alpha: float) -> None:
        self.alpha = alpha
        self.pairs = [(p, p.detach().clone()) for p in params if p.requires_grad]

    def apply(self) -> None:
        if self.alpha <= 0:
            return
        with torch.no_grad():
            for p, p0 in self.pairs:
                if p.grad is not None:
                    p.grad.add_(p - p0, alpha=self.alpha)

    def distance(self) -> float:
        """‖w − w_parent‖₂, reported so a run shows how far it moved from its parent."""
        with torch.no_grad():
            return float(sum(float((p - p0).pow(2).sum()) for p, p0 in self.pairs) ** 0.5)


class ReplaySampler:
    """Draws replay indices without replacement until the set is used up, then reshuffles."""

    def __init__(self, n: int, rng: np.random.Generator) -> None:
        self.n, self.rng = n, rng
        self.order: list[int] = []

    def take(self, k: int) -> np.ndarray:
        out = []
        while len(out) < k:
            if not self.order:
                self.order = self.rng.permutation(self.n).tolist()
            out.append(self.order.pop())
        return np.asarray(out, dtype=np.int64)


def appearance_augment(images: torch.Tensor, rng: np.random.Generator, p: float) -> torch.Tensor:
    """Random scanner-appearance changes, each sample with probability p, before the flips.

    images: (N, planes, H, W) in [0, 1], rows = depth; returns float32 of the same shape, clamped
    to [0, 1]. Per sample: a display gamma exp(U(−0.4, 0.4)), contrast ×U(0.75, 1.25) about the
    image mean, brightness U(−0.08, 0.08), and a depth-gain ramp exp(k·(row/H − ½)), k ~ U(−0.6, 0.6)
    (residual time-gain compensation). These are the settings that differ between ultrasound
    systems and presets; masks are unchanged."""
    x = images.float().clone()
    n, _, h, _ = x.shape
    rows = (torch.arange(h, dtype=torch.float32) + 0.5) / h - 0.5
    for i in range(n):
        if rng.random() >= p:
            continue
        g = float(np.exp(rng.uniform(-0.4, 0.4)))
        a, b, k = rng.uniform(0.75, 1.25), rng.uniform(-0.08, 0.08), rng.uniform(-0.6, 0.6)
        xi = x[i].clamp_(0, 1).pow_(g)
        mean = float(xi.mean())
        xi = (xi - mean) * a + mean + b
        xi = xi * torch.exp(k * rows).view(1, h, 1)
        x[i] = xi.clamp_(0, 1)
    return x


def scale_augment(images: torch.Tensor, masks: torch.Tensor, rng: np.random.Generator, p: float,
                  max_zoom: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Random isotropic zoom about the image centre, each sample with probability p.

    images (N, planes, H, W) float, masks (N, 1, H, W) integer; zoom factor exp(U(−ln z, ln z))
    with z = 1 + max_zoom (a field of view deeper or shallower than the training images').
    Images are resampled bilinearly and masks by nearest neighbour; outside the image is 0, the
    letterbox value."""
    import torch.nn.functional as F

    x, m = images.float(), masks
    pick = [i for i in range(len(x)) if rng.random() < p]
    if not pick or max_zoom <= 0:
        return x, m
    x, m = x.clone(), m.clone()
    z = np.exp(rng.uniform(-np.log1p(max_zoom), np.log1p(max_zoom), size=len(pick)))
    theta = torch.zeros((len(pick), 2, 3), dtype=torch.float32)
    theta[:, 0, 0] = torch.from_numpy(1.0 / z).float()
    theta[:, 1, 1] = theta[:, 0, 0]
    idx = torch.tensor(pick)
    grid = F.affine_grid(theta, list(x[idx].shape), align_corners=False)
    x[idx] = F.grid_sample(x[idx], grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    mm = F.grid_sample(m[idx].float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
    m[idx] = mm.round().to(m.dtype)
    return x, m


class WeightAverage:
    """Exponential moving average of a model's weights and batch-norm statistics, started from the
    parent (Polyak & Juditsky 1992, "Acceleration of stochastic approximation by averaging").

    After step t the average holds decay^t of the parent, so it also pulls toward the parent the
    way weight-space interpolation does (Wortsman et al. 2022, "Robust fine-tuning of zero-shot
    models"). Validation and the saved checkpoint use the average."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError("--ema must be between 0 and 1")
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def update(self, model: nn.Module) -> None:
        with torch.no_grad():
            for k, v in model.state_dict().items():
                s = self.shadow[k]
                if s.dtype.is_floating_point:
                    s.mul_(self.decay).add_(v.detach(), alpha=1.0 - self.decay)
                else:
                    s.copy_(v)

    def swap(self, model: nn.Module) -> dict:
        """Loads the average into model; returns the live state to load back afterwards."""
        live = {k: v.detach().clone() for k, v in model.state_dict().items()}
        model.load_state_dict(self.shadow)
        return live
