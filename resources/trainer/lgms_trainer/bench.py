"""`bench`: time training steps and forward passes on this machine, to plan training runs."""

import statistics
import time

import torch

from .metrics import seg_loss
from .model import build_model


def bench(device, size, batch, steps=3, forward_batch=1, forward_reps=5):
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


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()
