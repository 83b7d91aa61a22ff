"""Shared helpers for the trainer tests: import path, a tiny generated dataset, CLI runner."""

import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

TRAINER_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TRAINER_DIR not in sys.path:
    sys.path.insert(0, TRAINER_DIR)

# As the CLI does: sleeping OpenMP threads keep shared cores usable (see __main__.py).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

# Two threads are plenty for 64×64 tests and leave the other engineers' cores alone.
torch.set_num_threads(min(2, os.cpu_count() or 1))


def make_dataset(folder, n=8, size=(64, 64), seed=0, color=False, empty_every=0):
    """Bright noisy ellipses on a darker noisy background; mask = the ellipse.
    With empty_every=k, every k-th image has no lesion (an empty mask)."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    os.makedirs(os.path.join(folder, "masks"), exist_ok=True)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        cy, cx = rng.uniform(0.3, 0.7) * h, rng.uniform(0.3, 0.7) * w
        ry, rx = rng.uniform(0.12, 0.25) * h, rng.uniform(0.12, 0.25) * w
        mask = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        if empty_every and i % empty_every == 0:
            mask[:] = False
        img = 60 + 120 * mask + rng.normal(0, 20, size)
        img = np.clip(img, 0, 255).astype(np.uint8)
        if color:
            img = np.stack([img, (img * 0.8).astype(np.uint8), 255 - img], axis=-1)
        Image.fromarray(img).save(os.path.join(folder, "images", f"case{i:02d}.png"))
        Image.fromarray((mask * 255).astype(np.uint8)).save(os.path.join(folder, "masks", f"case{i:02d}.png"))
    return folder


def run_cli(*args, timeout=600):
    """Run `python -m lgms_trainer ...` with this interpreter; returns (rc, json events, stderr)."""
    env = dict(os.environ, OMP_NUM_THREADS="2")
    proc = subprocess.run([sys.executable, "-m", "lgms_trainer", *args], cwd=TRAINER_DIR, env=env,
                          capture_output=True, text=True, timeout=timeout)
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, events, proc.stderr


def leftover_temps(folder):
    return [f for f in os.listdir(folder) if ".tmp-" in f]


# Label values of make_label_dataset: not contiguous (3 is a retired label, ignored by the loss).
LABEL_MAP = {"labels": [{"value": 1, "name": "bright disc", "color": "#ff0000"},
                        {"value": 2, "name": "dark square", "color": "#00ff00"},
                        {"value": 4, "name": "mid bar", "color": "#0000ff"}],
             "ignoreValues": [3],
             "task": {"name": "Test shapes", "labels": [{"value": 1, "name": "bright disc"}]}}


def make_label_dataset(folder, n=8, size=(64, 64), seed=0, unlabelled_every=0):
    """Several structures per image, masks holding label values 1, 2, 4 (3: a retired label's
    pixels). With unlabelled_every=k, every k-th mask is 255 (not labelled) in its right half."""
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    os.makedirs(os.path.join(folder, "masks"), exist_ok=True)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        mask = np.zeros(size, dtype=np.uint8)
        img = np.full(size, 90.0)
        cy, cx, r = rng.uniform(0.25, 0.45) * h, rng.uniform(0.25, 0.45) * w, rng.uniform(0.1, 0.16) * h
        disc = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        sy, sx = int(rng.uniform(0.55, 0.7) * h), int(rng.uniform(0.5, 0.7) * w)
        square = (yy >= sy) & (yy < sy + h // 5) & (xx >= sx) & (xx < sx + w // 5)
        by = int(rng.uniform(0.05, 0.15) * h)
        bar = (yy >= by) & (yy < by + 4) & (xx >= w // 2) & (xx < w - 4)
        blob = (yy - 0.8 * h) ** 2 + (xx - 0.15 * w) ** 2 <= (0.08 * h) ** 2
        img[disc], img[square], img[bar], img[blob] = 220, 15, 160, 200
        mask[disc], mask[square], mask[bar], mask[blob] = 1, 2, 4, 3
        if unlabelled_every and i % unlabelled_every == 0:
            mask[:, w // 2:] = 255
        img = np.clip(img + rng.normal(0, 12, size), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(os.path.join(folder, "images", f"case{i:02d}.png"))
        Image.fromarray(mask).save(os.path.join(folder, "masks", f"case{i:02d}.png"))
    return folder


def write_label_map(path, obj=None):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(LABEL_MAP if obj is None else obj, f)
    return path


# A label map for make_volume_dataset: value 1 the sphere, value 2 a slab (3D training tests).
VOLUME_LABEL_MAP = {"labels": [{"value": 1, "name": "sphere"}, {"value": 2, "name": "slab"}]}


def make_volume_dataset(folder, n=2, shape=(32, 64, 64), every=4, seed=0, spacing=(3.0, 2.0, 2.0)):
    """Staged 3D training data (SPEC3D): folder/volumes/caseNN/{image.npy, labels.npy, meta.json}.
    Each volume: a bright noisy sphere (label 1) and a darker slab (label 2) on a noisy background,
    intensities in [0, 1]; every `every`-th slice labelled, every voxel of the others 255."""
    rng = np.random.default_rng(seed)
    d, h, w = shape
    zz, yy, xx = np.mgrid[0:d, 0:h, 0:w]
    for i in range(n):
        cz, cy, cx = rng.uniform(0.35, 0.65) * d, rng.uniform(0.3, 0.5) * h, rng.uniform(0.3, 0.7) * w
        r = rng.uniform(0.25, 0.35) * min(d * 1.5, h, w)
        sphere = ((zz - cz) * 1.5) ** 2 + (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
        slab = (yy >= int(0.75 * h)) & (yy < int(0.75 * h) + 6) & ~sphere
        labels = np.zeros(shape, dtype=np.uint8)
        labels[sphere], labels[slab] = 1, 2
        image = (0.3 + 0.5 * sphere - 0.2 * slab + rng.normal(0, 0.05, shape)).astype(np.float32)
        labelled = list(range(0, d, every))
        unl = np.ones(d, dtype=bool)
        unl[labelled] = False
        labels[unl] = 255
        case = os.path.join(folder, "volumes", f"case{i:02d}")
        os.makedirs(case, exist_ok=True)
        np.save(os.path.join(case, "image.npy"), image)
        np.save(os.path.join(case, "labels.npy"), labels)
        meta = {"spacing": list(spacing), "modality": "MR", "normalization": {"type": "percentile", "low": 0.5, "high": 99.5},
                "labelledSlices": labelled, "series": f"Synthetic T1 {i}", "seriesInstanceUid": f"1.2.826.0.1.3680043.2.1125.{i}"}
        with open(os.path.join(case, "meta.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f)
    return folder
