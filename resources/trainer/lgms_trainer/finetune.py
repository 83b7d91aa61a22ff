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

    def __post_init__(self) -> None:
        if not 0.0 <= self.replay_fraction <= 0.9:
            raise ValueError("--replay-fraction must be between 0 and 0.9")
        if self.replay_fraction > 0 and not self.replay_dir:
            raise ValueError("--replay-fraction needs --replay")
        if self.anchor < 0:
            raise ValueError("--anchor must be >= 0")

    def describe(self) -> str:
        parts = []
        if self.replay_dir and self.replay_fraction > 0:
            parts.append(f"replay {self.replay_fraction:g} of each batch")
        if self.anchor > 0:
            parts.append(f"L2-SP anchor {self.anchor:g}")
        if self.freeze_norm:
            parts.append("batch-norm statistics frozen")
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

    def __init__(self, params: Iterable[nn.Parameter], alpha: float):
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

    def __init__(self, n: int, rng: np.random.Generator):
        self.n, self.rng = n, rng
        self.order: list[int] = []

    def take(self, k: int) -> np.ndarray:
        out = []
        while len(out) < k:
            if not self.order:
                self.order = self.rng.permutation(self.n).tolist()
            out.append(self.order.pop())
        return np.asarray(out, dtype=np.int64)
