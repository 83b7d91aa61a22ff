"""`bench`: time training steps and forward passes on this machine, to plan training runs."""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch

from .metrics import seg_loss
from .blocks import StableGroupNorm
from .model import build_model


def bench(device: torch.device, size: int, batch: int, steps: int = 3, forward_batch: int = 1,
          forward_reps: int = 5) -> dict[str, Any]:
    torch.manual_seed(0)
    model = build_model().to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    x = torch.rand(batch, 3, size, size, device=device)
    y = (torch.rand(batch, 1, size, size, device=device) > 0.5).float()
    times = []
    model.train()
    for _ in range(steps + 1):  # the first step warms up allocators and kernels
        t = time.perf_counter()
        loss = seg_loss(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        _sync(device)
        times.append(time.perf_counter() - t)
    model.eval()
    xf = torch.rand(forward_batch, 3, size, size, device=device)
    fwd = []
    with torch.no_grad():
        for _ in range(forward_reps + 1):
            t = time.perf_counter()
            model(xf)
            _sync(device)
            fwd.append(time.perf_counter() - t)
    return {"size": size, "batch": batch, "device": device.type, "threads": torch.get_num_threads(),
            "trainStepSeconds": round(statistics.median(times[1:]), 3),
            "forwardBatch": forward_batch, "forwardSeconds": round(statistics.median(fwd[1:]), 4)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def compare_norm(device: torch.device, size: int, batch: int, rounds: int = 4,
                 steps: int = 3) -> dict[str, Any]:
    """Training steps with the staged group norm (the export form, used in training before) and
    with the fused one (now), alternating round by round so both see the same machine load.
    Steps per second from the median step of each; forward and backward timed apart."""
    torch.manual_seed(0)
    model = build_model().to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.rand(batch, 3, size, size, device=device)
    y = (torch.rand(batch, 1, size, size, device=device) > 0.5).float()
    timing = {"staged": [], "fused": []}
    try:
        for r in range(rounds):
            for mode in ("staged", "fused") if r % 2 == 0 else ("fused", "staged"):
                StableGroupNorm.fused_in_training = mode == "fused"
                for i in range(steps + 1):  # the first step of a round warms up
                    t0 = time.perf_counter()
                    loss = seg_loss(model(x), y)
                    _sync(device)
                    t1 = time.perf_counter()
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    opt.step()
                    _sync(device)
                    t2 = time.perf_counter()
                    if i:
                        timing[mode].append((t1 - t0, t2 - t1))
    finally:
        StableGroupNorm.fused_in_training = True
    out = {"size": size, "batch": batch, "device": device.type, "threads": torch.get_num_threads(), "steps": len(timing["fused"])}
    for mode, ts in timing.items():
        step = statistics.median(f + b for f, b in ts)
        out[mode] = {"stepSeconds": round(step, 3), "stepsPerSecond": round(1 / step, 3),
                     "forwardSeconds": round(statistics.median(f for f, _ in ts), 3),
                     "backwardSeconds": round(statistics.median(b for _, b in ts), 3)}
    out["speedup"] = round(out["staged"]["stepSeconds"] / out["fused"]["stepSeconds"], 3)
    return out
