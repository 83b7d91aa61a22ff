"""Reading an images/ + masks/ folder and turning pictures into model input with exactly the
rules model.json announces (channel mode, normalisation, letterbox), so the app can repeat them."""

from __future__ import annotations

import os
from typing import Any, Optional, Sequence, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

T = TypeVar("T")
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".npy")
# A staged image (.npy, float32 (planes, H, W) in [0, 1]) is already model input: the app wrote
# it with its own inference preprocessing (src/main/training/stage.ts), so that training sees
# exactly what inference sees; it is neither normalised nor resized again.
STAGED_EXT = ".npy"
# Public sets name masks differently (ISIC: _segmentation, BUSI: _mask); accept these suffixes.
MASK_SUFFIXES = ("", "_mask", "_segmentation")
LOSSY_EXTS = (".jpg", ".jpeg")


class DataError(ValueError):
    pass


#: One image of a folder: (name, image path, mask path).
Pair = tuple[str, str, str]


def list_pairs(folder: str) -> list[Pair]:
    """Sorted [(name, image_path, mask_path)] for folder/images/* with a mask in folder/masks/."""
    img_dir, mask_dir = os.path.join(folder, "images"), os.path.join(folder, "masks")
    if not os.path.isdir(img_dir) or not os.path.isdir(mask_dir):
        raise DataError(f"{folder} must contain images/ and masks/ folders")
    masks = {}
    for f in os.listdir(mask_dir):
        stem, ext = os.path.splitext(f)
        if ext.lower() in IMAGE_EXTS:
            masks[stem] = os.path.join(mask_dir, f)
    pairs, missing = [], []
    for f in sorted(os.listdir(img_dir)):
        stem, ext = os.path.splitext(f)
        if ext.lower() not in IMAGE_EXTS:
            continue
        mask = next((masks[stem + s] for s in MASK_SUFFIXES if stem + s in masks), None)
        if mask is None:
            missing.append(f)
        else:
            pairs.append((f, os.path.join(img_dir, f), mask))
    if missing:
        raise DataError(f"{len(missing)} image(s) without a mask in {mask_dir}, e.g. {missing[:3]}")
    if not pairs:
        raise DataError(f"no images found in {img_dir}")
    return pairs


def load_image(path: str) -> np.ndarray:
    """Raw pixel values as float32 (H, W, C), C = 1 or 3; alpha and palettes are resolved."""
    with Image.open(path) as im:
        if im.mode in ("P", "RGBA", "LA", "CMYK", "YCbCr", "RGBX", "PA"):
            im = im.convert("RGB")
        arr = np.asarray(im).astype(np.float32)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr[:, :, :3]


def load_mask(path: str) -> np.ndarray:
    """Binary masks: foreground = nonzero. JPEG masks carry compression noise, so there the cut is > 127."""
    with Image.open(path) as im:
        arr = np.asarray(im.convert("L") if im.mode not in ("L", "I;16", "I", "1") else im)
    cut = 127 if os.path.splitext(path)[1].lower() in LOSSY_EXTS else 0
    return arr > cut


def load_label_values(path: str, lut: np.ndarray) -> np.ndarray:
    """A multi-class mask (8-bit, pixels hold label values) → class indices uint8 (H, W) through
    lut (labels.LabelMap.lookup: 0 background, k+1 per label, 255 ignored). Lossy (JPEG) and
    16-bit masks are refused: their values are not label values."""
    if os.path.splitext(path)[1].lower() in LOSSY_EXTS:
        raise DataError(f"{path}: a label map must be stored losslessly (PNG), not as JPEG")
    with Image.open(path) as im:
        if im.mode not in ("L", "P", "1"):
            raise DataError(f"{path}: a label map must be an 8-bit single-channel image, got mode {im.mode}")
        arr = np.asarray(im.convert("L") if im.mode == "1" else im).astype(np.uint8)
    return lut[arr]


def is_color(img: np.ndarray) -> bool:
    return img.shape[2] == 3 and not (np.array_equal(img[:, :, 0], img[:, :, 1])
                                      and np.array_equal(img[:, :, 0], img[:, :, 2]))


def parse_normalization(text: str) -> dict[str, Any]:
    """'scale:MIN,MAX' | 'window:CENTER,WIDTH' | 'percentile:LOW,HIGH' → model.json dict."""
    kind, _, args = text.partition(":")
    vals = [float(v) for v in args.split(",")] if args else []
    if kind == "scale":
        lo, hi = vals or (0.0, 255.0)
        return {"type": "scale", "min": _num(lo), "max": _num(hi)}
    if kind == "window" and len(vals) == 2:
        return {"type": "window", "center": _num(vals[0]), "width": _num(vals[1])}
    if kind == "percentile":
        lo, hi = vals or (0.5, 99.5)
        return {"type": "percentile", "low": _num(lo), "high": _num(hi)}
    raise DataError(f"bad normalization {text!r}; use scale:0,255 | window:C,W | percentile:0.5,99.5")


def _num(v: str) -> int | str:
    return int(v) if float(v).is_integer() else v


def normalize(img: np.ndarray, spec: dict[str, Any]) -> np.ndarray:
    """Map raw values to [0, 1] (clipped) by the model.json rule."""
    t = spec["type"]
    if t == "scale":
        lo, hi = spec["min"], spec["max"]
    elif t == "window":
        lo, hi = spec["center"] - spec["width"] / 2, spec["center"] + spec["width"] / 2
    elif t == "percentile":  # per image, over all channels
        lo, hi = np.percentile(img, [spec["low"], spec["high"]])
    else:
        raise DataError(f"unknown normalization type {t!r}")
    if hi <= lo:
        return np.zeros_like(img, dtype=np.float32)
    return np.clip((img - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def to_channels(img: np.ndarray, channel_mode: str) -> np.ndarray:
    """(H, W, C) → (C', H, W): 'replicate' keeps one gray plane (colour → ITU-R 601 luma),
    'rgb' keeps three planes (a gray image is repeated)."""
    if channel_mode == "replicate":
        if img.shape[2] == 3:
            img = img @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
            img = img[:, :, None]
        return np.ascontiguousarray(img.transpose(2, 0, 1))
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return np.ascontiguousarray(img.transpose(2, 0, 1))


def letterbox_geometry(h: int, w: int, size: Sequence[int]) -> tuple[int, int, int, int]:
    """Scale to fit inside size=(H, W) keeping aspect, centred; returns (new_h, new_w, top, left)."""
    s = min(size[0] / h, size[1] / w)
    nh, nw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    return nh, nw, (size[0] - nh) // 2, (size[1] - nw) // 2


def letterbox(t: torch.Tensor, size: Sequence[int], mode: str) -> torch.Tensor:
    """t: (C, h, w) float tensor → (C, H, W); bilinear (half-pixel, no antialias) for images,
    nearest (half-pixel centres) for masks; padding is 0 in the normalised space."""
    nh, nw, top, left = letterbox_geometry(t.shape[1], t.shape[2], size)
    kw = {"mode": "bilinear", "align_corners": False} if mode == "bilinear" else {"mode": "nearest-exact"}
    r = F.interpolate(t[None], size=(nh, nw), **kw)[0]
    out = torch.zeros((t.shape[0], size[0], size[1]), dtype=t.dtype)
    out[:, top:top + nh, left:left + nw] = r
    return out


def unletterbox(t: torch.Tensor, orig_h: int, orig_w: int, size: Sequence[int]) -> torch.Tensor:
    """Inverse for predictions: crop the content area and resize bilinear to the original size."""
    nh, nw, top, left = letterbox_geometry(orig_h, orig_w, size)
    crop = t[:, top:top + nh, left:left + nw]
    return F.interpolate(crop[None], size=(orig_h, orig_w), mode="bilinear", align_corners=False)[0]


def prepare_image(img: np.ndarray, spec: dict[str, Any], in_channels: int) -> torch.Tensor:
    """Raw (H, W, C) image → model input (in_channels, H', W') per model.json's input spec."""
    x = to_channels(img, spec["channelMode"])
    x = torch.from_numpy(normalize(x, spec["normalization"]))
    x = letterbox(x, spec["size"], "bilinear")
    if x.shape[0] == 1 and in_channels > 1:
        x = x.expand(in_channels, -1, -1)
    return x


def prepare_mask(mask: np.ndarray, size: Sequence[int]) -> torch.Tensor:
    m = torch.from_numpy(mask.astype(np.float32))[None]
    return letterbox(m, size, "nearest")


def detect_channel_mode(paths: Sequence[str]) -> str:
    return "rgb" if any(is_color(load_image(p)) for p in paths) else "replicate"


def load_set(pairs: list[Pair], spec: dict, in_channels: int,
             lut: Optional[np.ndarray] = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Preprocess every pair once. Images are kept as float16 (half the memory; inputs lie in
    [0, 1], where float16 error is below 5e-4) and single-plane when the mode is 'replicate'.
    Masks (N, 1, H, W) uint8: 0/1 for binary masks; with lut (a label map's lookup) class
    indices, 255 where the loss ignores the pixel. Letterbox padding is background (0)."""
    n = len(pairs)
    h, w = spec["size"]
    planes = 1 if spec["channelMode"] == "replicate" else 3
    images = torch.empty((n, planes, h, w), dtype=torch.float16)
    masks = torch.empty((n, 1, h, w), dtype=torch.uint8)
    for i, (_, ip, mp) in enumerate(pairs):
        mask = load_mask(mp) if lut is None else load_label_values(mp, lut)
        if ip.lower().endswith(STAGED_EXT):
            images[i] = load_staged(ip, (planes, h, w)).to(torch.float16)
        else:
            img = load_image(ip)
            if img.shape[:2] != mask.shape[:2]:
                raise DataError(f"{ip}: image {img.shape[:2]} and mask {mask.shape[:2]} differ in size")
            images[i] = prepare_image(img, spec, planes).to(torch.float16)
        masks[i] = prepare_mask(mask, spec["size"]).to(torch.uint8)
    return images, masks


def load_staged(path: str, shape: Sequence[int]) -> torch.Tensor:
    """A staged model input: float32 (planes, H, W), values in [0, 1]; the mask beside it keeps
    the original image size and is letterboxed here like any other mask."""
    arr = np.load(path, allow_pickle=False)
    if arr.dtype != np.float32 or tuple(arr.shape) != tuple(shape):
        raise DataError(f"{path}: staged input must be float32 {tuple(shape)}, got {arr.dtype} {arr.shape}")
    if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
        raise DataError(f"{path}: staged input values must lie in [0, 1]")
    return torch.from_numpy(arr)


def augment(images: torch.Tensor, masks: torch.Tensor, rng: np.random.Generator,
            mirror_only: bool = False, flip: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Random flips and 90° rotations per sample (the authors' augmentation); with mirror_only,
    left-right mirroring alone (an ultrasound image keeps its probe at the top: rows are depth);
    without `flip` (--no-flip), the images as they are: a task whose labels have a side (right and
    left kidney) reads the side from where it lies in the image, which a mirror swaps (and a 180°
    turn is two mirrors); the rng is not drawn from."""
    if not flip:
        return images, masks
    out_i, out_m = [], []
    square = images.shape[-1] == images.shape[-2]
    for x, m in zip(images, masks):
        if rng.random() < 0.5:
            x, m = x.flip(-1), m.flip(-1)
        if mirror_only:
            out_i.append(x)
            out_m.append(m)
            continue
        if rng.random() < 0.5:
            x, m = x.flip(-2), m.flip(-2)
        k = int(rng.integers(4)) if square else 2 * int(rng.integers(2))
        if k:
            x, m = torch.rot90(x, k, (-2, -1)), torch.rot90(m, k, (-2, -1))
        out_i.append(x)
        out_m.append(m)
    return torch.stack(out_i), torch.stack(out_m)


def seeded_split(items: list[T], fraction: float, seed: int, too_few: str) -> tuple[list[T], list[T]]:
    """Seeded split of items (in their given order) into (train, val): round(len × fraction) of
    them validate, at least one of each; DataError(too_few) for fewer than two items."""
    if len(items) < 2:
        raise DataError(too_few)
    order = np.random.default_rng(seed).permutation(len(items))
    n_val = min(len(items) - 1, max(1, int(round(len(items) * fraction))))
    val_idx = set(order[:n_val].tolist())
    return [p for i, p in enumerate(items) if i not in val_idx], [p for i, p in enumerate(items) if i in val_idx]


def split_pairs(pairs: list[Pair], fraction: float, seed: int) -> tuple[list[Pair], list[Pair]]:
    """Seeded split of sorted pairs into (train, val); at least one of each."""
    return seeded_split(pairs, fraction, seed, "need at least 2 images to split off a validation set")
