"""Process-level helpers: device choice, thread count, seeding, atomic file writes and the
JSON-lines event stream that the app reads from stdout."""

from __future__ import annotations

import json
import os
import platform
import random
import sys
from typing import Any, Callable, TextIO

import numpy as np
import torch

TMP_MARK = ".tmp-"


def pick_device(name: str = "auto") -> torch.device:
    if name != "auto":
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def available_devices() -> dict[str, bool]:
    mps = getattr(torch.backends, "mps", None)
    return {"cuda": torch.cuda.is_available(), "mps": bool(mps is not None and mps.is_available()), "cpu": True}


def configure_threads(device: torch.device, threads: int | None = None) -> None:
    # torch starts with a single intra-op thread on this kind of machine; use every core
    # unless told otherwise.
    if device.type == "cpu":
        torch.set_num_threads(threads or os.cpu_count() or 1)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


def machine_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores"


def temp_path(final_path: str) -> str:
    """Hidden temporary name in the destination folder, so os.replace() stays on one filesystem."""
    folder, name = os.path.split(os.path.abspath(final_path))
    return os.path.join(folder, f".{name}{TMP_MARK}{os.getpid()}")


def write_atomic(final_path: str, writer: Callable[[str], object]) -> None:
    """Call writer(tmp_path), then rename into place; the temporary file never outlives a failure."""
    tmp = temp_path(final_path)
    try:
        writer(tmp)
        os.replace(tmp, final_path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json_atomic(final_path: str, obj: Any) -> None:
    """obj as indented JSON at final_path, written as write_atomic does."""

    def writer(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
    write_atomic(final_path, writer)


class Events:
    """One JSON object per line, flushed at once, so the app can follow progress live."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def emit(self, event: str, **fields: Any) -> None:
        if self.stream is None:
            return
        self.stream.write(json.dumps({"event": event, **fields}, allow_nan=False) + "\n")
        self.stream.flush()


def reserve_stdout() -> TextIO:
    """Keep the real stdout for JSON only: any other print (ours, torch's, C++ libraries')
    is sent to stderr by pointing file descriptor 1 at stderr. Returns the JSON stream."""
    sys.stdout.flush()
    json_stream = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return json_stream


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)
