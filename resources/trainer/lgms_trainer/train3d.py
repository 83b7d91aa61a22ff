"""`train --dims 3`: fit the 3D LGMSNet on staged volumes whose reader labelled only some slices,
and write a model package (issue 25; the formats: trainer README, "3D training").

The loop draws patches (volumes.sample_batch: every patch holds a labelled slice, two in three a
labelled foreground voxel), takes one optimiser step on the DiceCE of the labelled slices only
(metrics.sparse_slice_dice_ce_loss), and every epoch (STEPS_PER_EPOCH steps, as nnU-Net counts
a fixed number of iterations per epoch) validates by sliding windows over the whole validation
volumes, scored on their labelled slices (sliding.validate_volumes); the best checkpoint by
evaluate.selection_score is packaged. Writing the package is train.py's (atomic, model.json
last); model.json carries SPEC3D's fields (architecture.dims/depths, input.patch/spacing)."""

from __future__ import annotations

import argparse
import math
import os
import shlex
import sys
import time
from typing import Any, Optional

import numpy as np
import torch

from . import setup
from .data import DataError, seeded_split
from .evaluate import selection_score
from .finetune import Anchor, WeightAverage, freeze_norm_statistics
from .labels import read_label_map
from .metrics import sparse_slice_dice_ce_loss
from .model import BASE_WIDTH, SIZE_MULTIPLE, build_model_3d
from .package import build_manifest, load_weights, read_manifest
from .runtime import Events, configure_threads, log, machine_description, pick_device, seed_everything
from .sliding import count_windows, validate_volumes
from .volumes import (Volume, common_meta, describe_augmentation, list_volumes, load_volume_set, parse_triple,
                      sample_batch)

#: Patch and batch when neither --patch nor a parent gives one: 32×64×64 voxels, 2 patches a step.
#: Measured on the shared 2-core machine (PyTorch 1.13, 2 threads, 7 classes, AdamW, load 2.5):
#: 32×64×64 batch 2 6.3–8.9 s a step, batch 1 5.2–5.8 s, 32³ batch 2 1.8–2.8 s
#: (docs/model-card.md, "3D LGMSNet").
DEFAULT_PATCH = (32, 64, 64)
DEFAULT_BATCH_SIZE = 2
#: Optimiser steps per epoch (validation happens once per epoch unless --val-every says otherwise).
STEPS_PER_EPOCH = 50
DEFAULT_EPOCHS = 20
#: 2D-only options that 3D training leaves aside (logged, recorded in model.json's training.ignoredOptions).
IGNORED_2D_OPTIONS = ("appearance", "zoom", "size", "channel_mode")


def _given(argv: list[str], name: str) -> bool:
    return any(a == f"--{name}" or a.startswith(f"--{name}=") for a in argv)


def _parent(args: argparse.Namespace) -> tuple[Optional[dict], Optional[dict]]:
    """(weights payload, model.json) of --init / --init-from; DataError for a 2D model."""
    source = args.init or args.init_from
    if not source:
        return None, None
    payload, manifest = load_weights(os.path.join(source, "weights.pt")), read_manifest(source)
    if int(payload["config"].get("dims", 2)) != 3:
        flag = "--init" if args.init else "--init-from"
        raise DataError(f"{flag} {source} is a 2D model; a 3D model cannot start from a 2D model's weights "
                        "(its kernels are flat). Start the 3D model from scratch or from another 3D model")
    if manifest is None or "patch" not in manifest.get("input", {}):
        raise DataError(f"{source} has no model.json with the 3D patch and spacing it was trained at")
    return payload, manifest


def _patch_and_spacing(args: argparse.Namespace, parent: Optional[dict]) -> tuple[list[int], Optional[list[float]]]:
    """--patch / --spacing, or the parent's (a fine-tune keeps them: another value is refused)."""
    patch = parse_triple(args.patch, "--patch") if args.patch else None
    spacing = parse_triple(args.spacing, "--spacing", float) if args.spacing else None
    if args.init and parent is not None:
        pin = parent["input"]
        if patch is not None and patch != pin["patch"]:
            raise DataError(f"a fine-tune keeps its parent's patch {pin['patch']}; --patch {args.patch} differs")
        if spacing is not None and any(abs(a - b) > 1e-6 for a, b in zip(spacing, pin["spacing"])):
            raise DataError(f"a fine-tune keeps its parent's spacing {pin['spacing']} mm; --spacing {args.spacing} differs")
        patch, spacing = list(pin["patch"]), [float(v) for v in pin["spacing"]]
    patch = patch or list(DEFAULT_PATCH)
    if any(p % SIZE_MULTIPLE for p in patch):
        raise DataError(f"each side of the 3D patch must be a multiple of {SIZE_MULTIPLE} voxels, not {patch}")
    return patch, spacing


def prepare(args: argparse.Namespace, argv: list[str]) -> setup.TrainContext:
    """setup.prepare for `--dims 3`: label map (required), parent (3D only), patch and spacing,
    the volumes' split, names and the output folder. Raises DataError in a reader's words."""
    ctx = setup.TrainContext()
    ctx.args = args
    ctx.command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "lgms_trainer", *argv])
    if args.time_limit is None and args.max_steps is None and args.epochs is None:
        args.epochs = DEFAULT_EPOCHS
    ctx.epochs = args.epochs
    if not args.label_map:
        raise DataError("a 3D model needs --label-map (the label values of the staged labels.npy)")
    if args.init and args.init_from:
        raise DataError("give either --init (fine-tune) or --init-from (new task), not both")
    if args.replay:
        raise DataError("--replay mixes in 2D images and cannot be used with --dims 3")
    ctx.label_map = read_label_map(args.label_map)
    payload, parent = _parent(args)
    classes = ctx.label_map.classes
    if args.init and payload["config"]["classes"] != classes:
        raise DataError(f"the parent model has {payload['config']['classes']} output classes but this training has "
                        f"{classes}; a model for other labels starts with --init-from")
    if args.init and parent["output"].get("values") not in (None, ctx.label_map.values):
        raise DataError("the parent model's label values differ from the label map's; labels are never renumbered")
    ctx.parent_manifest = parent
    ctx.parent_id = parent["id"] if parent and args.init else None
    ctx.init_from_id = (parent or {}).get("id", os.path.basename(os.path.normpath(args.init_from))) if args.init_from else None
    ctx.patch, ctx.spacing = _patch_and_spacing(args, parent)
    ctx.batch_size = args.batch_size = args.batch_size if _given(argv, "batch-size") else DEFAULT_BATCH_SIZE
    ctx.ignored = [o for o in IGNORED_2D_OPTIONS if _given(argv, o.replace("_", "-"))]
    seed_everything(args.seed)  # the initial weights (and a new head) come from --seed
    if args.width is not None and (args.width < 8 or args.width % 8):
        raise DataError(f"--width must be a multiple of 8 channels (16 is the authors' network), not {args.width}")
    width = int(payload["config"].get("width", BASE_WIDTH)) if payload else (args.width or BASE_WIDTH)
    if payload and args.width and args.width != width:
        raise DataError(f"the initial model has width {width}; --width {args.width} differs")
    ctx.model = build_model_3d(1, classes, width)
    if payload and args.init:
        ctx.model.load_state_dict(payload["state_dict"])
    elif payload:
        setup.load_without_head(ctx.model, payload["state_dict"])
    cases = list_volumes(args.data)
    if args.val_data:
        ctx.train_cases, ctx.val_cases = cases, list_volumes(args.val_data)
        source = {"valSource": "folder", "valData": os.path.abspath(args.val_data)}
    else:
        ctx.train_cases, ctx.val_cases = seeded_split(
            cases, args.val_fraction, args.seed, "one volume cannot be split into training and validation; give --val-data")
        source = {"valSource": "split", "fraction": args.val_fraction, "seed": args.seed}
    names = lambda cs: [os.path.basename(c) for c in cs]  # noqa: E731
    ctx.split_record = {"data": os.path.abspath(args.data), **source, "train": names(ctx.train_cases),
                        "val": names(ctx.val_cases)}
    base = os.path.basename(os.path.normpath(args.data))
    ctx.name = args.name or f"LGMSNet 3D {base}"
    ctx.model_id = args.id or setup._new_id(ctx.name)
    ctx.labels = ctx.label_map.names
    split_text = (f"validation folder {os.path.basename(os.path.normpath(args.val_data))}" if args.val_data
                  else f"seeded split {args.val_fraction} (seed {args.seed})")
    ctx.data_description = args.data_description or (
        f"{base}: {len(ctx.train_cases)} training / {len(ctx.val_cases)} validation volumes, {split_text}")
    ctx.out = setup._prepare_out(args, ctx)
    return ctx


def _load(ctx: setup.TrainContext, seed: int) -> tuple[list[Volume], list[Volume], dict[str, Any]]:
    """Training and validation volumes, and the model.json input block (SPEC3D)."""
    lut = ctx.label_map.lookup()
    train, val = load_volume_set(ctx.train_cases, lut, seed), load_volume_set(ctx.val_cases, lut, seed + 1)
    if not any((v.classes != 255).any() for v in train):
        raise DataError("no training volume has a labelled slice")
    if not any(v.labelled.any() for v in val):
        raise DataError("no validation volume has a labelled slice to score")
    spacing, norm = common_meta(train + val, ctx.spacing)
    parent = ctx.parent_manifest
    if ctx.args.init and parent["input"]["normalization"] != norm:
        raise DataError(f"the volumes were normalised with {norm} but the parent model expects "
                        f"{parent['input']['normalization']}")
    patch = ctx.patch
    spec = {"channels": 1, "size": [patch[1], patch[2]], "channelMode": "replicate", "resize": "letterbox",
            "normalization": norm, "patch": list(patch), "spacing": spacing}
    return train, val, spec


def fit_and_package(ctx: setup.TrainContext, args: argparse.Namespace, events: Events, stop: Any) -> dict[str, Any]:
    """Trains (see the module docstring), writes the package into ctx.out, returns model.json's
    metrics. stop: train.StopFlag (check() raises train.Cancelled)."""
    from .train import _write_package

    device = pick_device(args.device)
    configure_threads(device, args.threads)
    seed_everything(args.seed)
    t0 = time.monotonic()  # --time-limit counts loading too
    log(f"loading {len(ctx.train_cases)} training and {len(ctx.val_cases)} validation volumes")
    train, val, spec = _load(ctx, args.seed)
    for name in ctx.ignored:
        log(f"--{name.replace('_', '-')} is a 2D option; 3D training leaves it aside")
    stop.check()
    model = ctx.model.to(device)
    result = _fit(ctx, args, model, train, val, device, events, stop, t0)
    model.load_state_dict(result["state"])
    model.cpu().eval()
    best = result["best"]
    validation = {k: best[k] for k in ("dice", "iou", "sensitivity", "precision", "n", "labels")}
    log(f"best validation Dice {best['dice']:.4f} at epoch {result['bestEpoch']}; writing {ctx.out}")
    training = {"data": ctx.data_description, "command": ctx.command, "seed": args.seed,
                "optimizer": ctx.optimizer_description(),
                "epochs": result["epochs"], "steps": result["steps"],
                "durationSeconds": round(time.monotonic() - t0, 1), "machine": machine_description(),
                "torch": torch.__version__, "device": device.type,
                "loss": "dice+cross-entropy (softmax) on the labelled slices only",
                "augmentation": describe_augmentation(args.mirror_only, not args.no_flip),
                "patchesPerStep": ctx.batch_size, "stepsPerEpoch": STEPS_PER_EPOCH, "width": model.width}
    if ctx.ignored:
        training["ignoredOptions"] = ["--" + o.replace("_", "-") for o in ctx.ignored]
    if ctx.init_from_id:
        training["initializedFrom"] = ctx.init_from_id
    manifest = build_manifest(model=model, model_id=ctx.model_id, name=ctx.name, version=args.version,
                              parent=ctx.parent_id, input_spec=spec, labels=ctx.labels, threshold=args.threshold,
                              training=training, validation=validation, label_map=ctx.label_map)
    manifest["architecture"].update(dims=3, depths=list(model.depths))
    _write_package(ctx, model, manifest, stop)
    return manifest["metrics"]


def _fit(ctx: setup.TrainContext, args: argparse.Namespace, model: torch.nn.Module, train: list[Volume],
         val: list[Volume], device: torch.device, events: Events, stop: Any, t0: float) -> dict[str, Any]:
    """The step loop; returns {"state", "best", "bestEpoch", "epochs", "steps"}."""
    from .train import _eta, _train_step_loss, lr_at, make_optimizer

    opt = make_optimizer(model, args)
    anchor = Anchor(model.parameters(), args.anchor)
    average = WeightAverage(model, args.ema) if args.ema > 0 else None
    max_steps = ctx.max_steps(STEPS_PER_EPOCH)
    val_every = STEPS_PER_EPOCH * (args.val_every or 1)
    rng = np.random.default_rng(args.seed)
    windows = sum(count_windows(v.image.shape, ctx.patch, v.labelled) for v in val)
    events.emit("start", trainImages=len(train), valImages=len(val), trainVolumes=len(train), valVolumes=len(val),
                batchSize=ctx.batch_size, stepsPerEpoch=STEPS_PER_EPOCH,
                maxSteps=None if max_steps == math.inf else max_steps, epochs=ctx.epochs, timeLimit=args.time_limit,
                device=str(device), size=list(ctx.patch[1:]), patch=list(ctx.patch), dims=3, channelMode="replicate",
                optimizer=args.optimizer, lr=args.lr, seed=args.seed, threads=torch.get_num_threads())
    st = {"step": 0, "step_time": None, "val_time": 0.0, "last_val": -1, "best_score": -1.0, "best": None,
          "state": None, "bestEpoch": 0}

    def validate_now() -> None:
        tv = time.monotonic()
        live = average.swap(model) if average is not None else None
        m = validate_volumes(model, val, ctx.patch, device, ctx.labels, stop=stop.check)
        st["val_time"], st["last_val"] = time.monotonic() - tv, st["step"]
        epoch = math.ceil(st["step"] / STEPS_PER_EPOCH)
        score = selection_score(m)
        if score > st["best_score"]:
            st.update(best_score=score, best=m, bestEpoch=epoch,
                      state={k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
        if live is not None:
            model.load_state_dict(live)
        events.emit("epoch", epoch=epoch, step=st["step"], valDice=m["dice"], valIou=m["iou"],
                    valSensitivity=m["sensitivity"], valPrecision=m["precision"], valN=m["n"],
                    bestDice=st["best"]["dice"], bestEpoch=st["bestEpoch"], parentDistance=round(anchor.distance(), 4),
                    elapsedSeconds=round(time.monotonic() - t0, 2),
                    valLabels=[{"name": x["name"], "dice": x["dice"]} for x in m["labels"]])
        model.train()

    def out_of_time() -> bool:
        # Stop when the next step and the final validation would cross the limit. Before the
        # first validation its time is estimated: a window's forward pass ≈ a third of one
        # patch's training step.
        val_time = st["val_time"] or windows * (st["step_time"] or 0.0) / ctx.batch_size / 3
        return args.time_limit is not None and (
            time.monotonic() - t0 + (st["step_time"] or 0.0) + val_time > args.time_limit)

    model.train()
    if args.freeze_norm:
        freeze_norm_statistics(model)
    while st["step"] < max_steps and not (st["step"] > 0 and out_of_time()):
        stop.check()
        ts = time.monotonic()
        x, y, labelled = sample_batch(train, tuple(ctx.patch), ctx.batch_size, rng, args.mirror_only,
                                           not args.no_flip)
        progress = st["step"] / max_steps if max_steps != math.inf else 0.0
        if args.time_limit:
            progress = max(progress, (time.monotonic() - t0) / args.time_limit)
        lr = lr_at(args.lr, progress, args.schedule)
        loss = _train_step_loss(model, opt, lr, anchor,
                                lambda: sparse_slice_dice_ce_loss(model(x.to(device)), y.to(device), labelled.to(device)))
        if average is not None:
            average.update(model)
        st["step"] += 1
        dt = time.monotonic() - ts
        st["step_time"] = dt if st["step_time"] is None else 0.8 * st["step_time"] + 0.2 * dt
        eta = _eta(max_steps - st["step"], val_every, st["step_time"], st["val_time"], time.monotonic() - t0,
                   args.time_limit)
        events.emit("step", step=st["step"], epoch=math.ceil(st["step"] / STEPS_PER_EPOCH), loss=loss, lr=lr,
                    etaSeconds=round(eta, 1), stepSeconds=round(dt, 3))
        if st["step"] % val_every == 0:
            stop.check()
            validate_now()
    if st["last_val"] != st["step"]:
        stop.check()
        validate_now()
    stop.check()
    return {"state": st["state"], "best": st["best"], "bestEpoch": st["bestEpoch"],
            "epochs": math.ceil(st["step"] / STEPS_PER_EPOCH), "steps": st["step"]}
