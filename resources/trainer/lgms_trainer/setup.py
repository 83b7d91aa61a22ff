"""Resolving `train` options into one context: data split, input spec, parent model, names.
Explicit options win, then the parent model's settings (fine-tuning keeps its preprocessing),
then defaults.

Three starts: from scratch; `--init PARENT` fine-tunes a model with the same classes (the child
records the parent); `--init-from MODEL` starts a new task's first model from another model's
weights with the head (the last 1×1 conv) replaced for the new class count, and records no
parent (the first version of a task has none; training.initializedFrom names the source)."""

from __future__ import annotations

import argparse
import datetime
import math
import os
import re
import shlex
import sys
import uuid
from typing import Any

import torch

from .data import DataError, detect_channel_mode, list_pairs, parse_normalization, split_pairs
from .labels import LabelMap, read_label_map
from .model import SIZE_MULTIPLE, build_model
from .package import default_input_spec, load_weights, read_manifest
from .runtime import seed_everything

DEFAULT_EPOCHS = 100


class TrainContext:
    def __init__(self) -> None:
        self.temp_files = []
        self.created_out = False
        self.committed = False

    def max_steps(self, per_epoch: int) -> float:
        limits = [self.epochs * per_epoch] if self.epochs else []
        if self.args.max_steps:
            limits.append(self.args.max_steps)
        return min(limits) if limits else math.inf

    def optimizer_description(self) -> str:
        a = self.args
        if a.optimizer == "sgd":
            return f"sgd(lr={a.lr}, momentum=0.9, weight_decay=1e-4), {a.schedule}, batch {a.batch_size}"
        return f"adamw(lr={a.lr}, weight_decay={a.weight_decay}), {a.schedule}, batch {a.batch_size}"

    def cleanup(self) -> None:
        for p in self.temp_files:
            if os.path.exists(p):
                os.remove(p)
        if self.created_out and not self.committed and os.path.isdir(self.out) and not os.listdir(self.out):
            os.rmdir(self.out)


def prepare(args: argparse.Namespace, argv: list[str]) -> TrainContext:
    """Resolves `train`'s options into a TrainContext (split, input spec, model with its initial
    weights, label map, names, output folder). Raises DataError with a reader's wording."""
    ctx = TrainContext()
    ctx.args = args
    ctx.command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "lgms_trainer", *argv])
    if args.time_limit is None and args.max_steps is None and args.epochs is None:
        args.epochs = DEFAULT_EPOCHS
    ctx.epochs = args.epochs

    label_map_path = getattr(args, "label_map", None)
    ctx.label_map = read_label_map(label_map_path) if label_map_path else None
    classes = ctx.label_map.classes if ctx.label_map else 1
    init_from = getattr(args, "init_from", None)
    if args.init and init_from:
        raise DataError("give either --init (fine-tune) or --init-from (new task), not both")
    source = args.init or init_from
    parent_manifest, parent_payload = None, None
    if source:
        parent_payload = load_weights(os.path.join(source, "weights.pt"))
        parent_manifest = read_manifest(source)
    ctx.parent_id = parent_manifest["id"] if parent_manifest and args.init else None
    ctx.init_from_id = (parent_manifest or {}).get("id", os.path.basename(os.path.normpath(init_from))) if init_from else None
    in_channels = parent_payload["config"]["in_channels"] if parent_payload else 3
    if args.init and parent_payload["config"]["classes"] != classes:
        raise DataError(f"the parent model has {parent_payload['config']['classes']} output classes but this training has "
                        f"{classes}; a model for other labels starts with --init-from")
    if args.init and ctx.label_map and parent_manifest and parent_manifest["output"].get("values") not in (None, ctx.label_map.values):
        raise DataError("the parent model's label values differ from the label map's; labels are never renumbered")
    if getattr(args, "replay", None) and ctx.label_map:
        raise DataError("--replay mixes in the parent's binary lesion masks and cannot be used with --label-map")
    # The initial weights (all of them from scratch, the new head with --init-from) come from --seed:
    # the same command trains the same model.
    seed_everything(args.seed)
    ctx.model = build_model(in_channels, classes)
    if parent_payload and args.init:
        ctx.model.load_state_dict(parent_payload["state_dict"])
    elif parent_payload:
        load_without_head(ctx.model, parent_payload["state_dict"])

    pairs = list_pairs(args.data)
    if args.val_data:
        ctx.train_pairs, ctx.val_pairs = pairs, list_pairs(args.val_data)
        source = {"valSource": "folder", "valData": os.path.abspath(args.val_data)}
    else:
        ctx.train_pairs, ctx.val_pairs = split_pairs(pairs, args.val_fraction, args.seed)
        source = {"valSource": "split", "fraction": args.val_fraction, "seed": args.seed}
    ctx.split_record = {"data": os.path.abspath(args.data), **source,
                        "train": [p[0] for p in ctx.train_pairs], "val": [p[0] for p in ctx.val_pairs]}

    ctx.input_spec = _input_spec(args, parent_manifest, ctx)
    base = os.path.basename(os.path.normpath(args.data))
    ctx.name = args.name or f"LGMSNet {base}"
    ctx.model_id = args.id or _new_id(ctx.name)
    if ctx.label_map:
        ctx.labels = ctx.label_map.names
    else:
        ctx.labels = [s.strip() for s in args.labels.split(",")] if args.labels else ["lesion"]
    split_text = (f"validation folder {os.path.basename(os.path.normpath(args.val_data))}" if args.val_data
                  else f"seeded split {args.val_fraction} (seed {args.seed})")
    ctx.data_description = args.data_description or (
        f"{base}: {len(ctx.train_pairs)} training / {len(ctx.val_pairs)} validation images, {split_text}")
    ctx.out = _prepare_out(args, ctx)
    return ctx


def load_without_head(model: torch.nn.Module, state_dict: dict) -> list[str]:
    """Loads every tensor of state_dict except the head's (head.weight, head.bias: the 1×1 conv to
    the classes), which keep their fresh initialisation. Returns the names left out. Raises
    DataError when the body does not match (another architecture or input channel count)."""
    body = {k: v for k, v in state_dict.items() if not k.startswith("head.")}
    missing, unexpected = model.load_state_dict(body, strict=False)
    wrong = [k for k in missing if not k.startswith("head.")] + list(unexpected)
    if wrong:
        raise DataError(f"the initial model does not match LGMSNet's layers ({len(wrong)} differ, e.g. {wrong[:3]})")
    return sorted(k for k in missing)


def _input_spec(args: argparse.Namespace, parent: dict[str, Any] | None, ctx: TrainContext) -> dict[str, Any]:
    pin = parent["input"] if parent else None
    size = args.size or (pin["size"][0] if pin else 256)
    if size % SIZE_MULTIPLE:
        raise DataError(f"--size must be a multiple of {SIZE_MULTIPLE}")
    if args.normalization:
        norm = parse_normalization(args.normalization)
    else:
        norm = pin["normalization"] if pin else {"type": "scale", "min": 0, "max": 255}
    mode = args.channel_mode
    if mode == "auto":
        mode = pin["channelMode"] if pin else detect_channel_mode(
            [p[1] for p in ctx.train_pairs + ctx.val_pairs])
    if mode == "rgb" and ctx.model.in_channels != 3:
        raise DataError("channel mode rgb needs a 3-channel model")
    return default_input_spec((size, size), mode, norm, ctx.model.in_channels)


def _new_id(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{slug}-{stamp}-{uuid.uuid4().hex[:6]}"


def _prepare_out(args: argparse.Namespace, ctx: TrainContext) -> str:
    out = os.path.abspath(args.out)
    if os.path.exists(os.path.join(out, "model.json")) and not args.overwrite:
        raise DataError(f"{out} already holds a model; pass --overwrite or choose another --out")
    if not os.path.isdir(out):
        os.makedirs(out)
        ctx.created_out = True
    return out
