"""`train`: fit LGMSNet on an images/ + masks/ folder and write a model package (`--dims 3`:
on staged volumes, train3d.py).

Nothing reaches --out until training has finished: weights, ONNX and split are written under
temporary names, renamed in one after another, model.json last. A cancel (SIGTERM/SIGINT)
before that point removes every temporary file."""

from __future__ import annotations

import argparse
import math
import os
import signal
import time
from types import FrameType
from typing import Any, Callable

import numpy as np
import torch

from . import setup
from .data import DataError, augment, list_pairs, load_set
from .evaluate import expand_planes, selection_score, validate
from .labels import IGNORE_INDEX
from .metrics import dice_ce_loss, seg_loss
from .package import build_manifest, write_weights
from .export import write_onnx
from .finetune import (Anchor, Recipe, ReplaySampler, WeightAverage, appearance_augment, freeze_norm_statistics,
                       scale_augment)
from .runtime import (Events, configure_threads, log, machine_description, pick_device, seed_everything,
                      temp_path, write_json_atomic)


class Cancelled(Exception):
    pass


class StopFlag:
    """First SIGTERM/SIGINT asks the loop to stop at the next step boundary; a second one
    interrupts at once (temporary files are still removed by the caller)."""

    def __init__(self) -> None:
        self.requested = False
        self.committing = False
        self._old = {}

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._old[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested and not self.committing:
            raise Cancelled()
        self.requested = True

    def check(self) -> None:
        if self.requested and not self.committing:
            raise Cancelled()


def make_optimizer(model: torch.nn.Module, args: argparse.Namespace) -> torch.optim.Optimizer:
    if args.optimizer == "sgd":
        return torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=1e-4)
    return torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)


# Validating 32 images costs about one training step (measured: 20-30 s vs 24 s per step on the
# loaded 2-core machine); a fine-tune on 16 images has 2-4 steps per epoch, so validating every
# epoch spent a third of the run validating. Auto: at least this many steps between validations.
MIN_STEPS_BETWEEN_VALIDATIONS = 20


def validation_interval(val_every: int | None, per_epoch: int) -> int:
    """Epochs between validations: --val-every when given, else enough epochs for
    MIN_STEPS_BETWEEN_VALIDATIONS steps (1 when an epoch is already that long)."""
    if val_every:
        return val_every
    return max(1, math.ceil(MIN_STEPS_BETWEEN_VALIDATIONS / per_epoch))


def recipe_from_args(args: argparse.Namespace) -> Recipe:
    return Recipe(replay_dir=getattr(args, "replay", None), replay_fraction=getattr(args, "replay_fraction", 0.0),
                  anchor=getattr(args, "anchor", 0.0), freeze_norm=getattr(args, "freeze_norm", False),
                  appearance=getattr(args, "appearance", 0.0), zoom=getattr(args, "zoom", 0.0),
                  ema=getattr(args, "ema", 0.0), mirror_only=getattr(args, "mirror_only", False),
                  no_flip=getattr(args, "no_flip", False))


def lr_at(base: float, progress: float, schedule: str) -> float:
    progress = min(max(progress, 0.0), 1.0)
    if schedule == "cosine":
        return base * 0.5 * (1 + math.cos(math.pi * progress))
    return base * (1 - progress) ** 0.9  # poly, per iteration (the authors' recipe)


def run_train(args: argparse.Namespace, argv: list[str], events: Events) -> int:
    """Returns the exit status: 0 done, 1 error, 130 cancelled."""
    stop = StopFlag()
    stop.install()
    ctx = None
    try:
        if getattr(args, "dims", "2") == "3":
            from . import train3d
            ctx = train3d.prepare(args, argv)
            metrics = train3d.fit_and_package(ctx, args, events, stop)
        else:
            ctx = setup.prepare(args, argv)
            metrics = _fit_and_package(ctx, args, events, stop)
        events.emit("done", metrics=metrics, out=ctx.out)
        return 0
    except Cancelled:
        log("training cancelled")
        events.emit("cancelled")
        return 130
    except Exception as e:  # reported as data; the app shows the message
        log(f"training failed: {type(e).__name__}: {e}")
        events.emit("error", message=f"{type(e).__name__}: {e}")
        return 1
    finally:
        stop.restore()
        if ctx is not None:
            ctx.cleanup()


def _fit_and_package(ctx: setup.TrainContext, args: argparse.Namespace, events: Events,
                     stop: StopFlag) -> dict[str, Any]:
    device = pick_device(args.device)
    configure_threads(device, args.threads)
    seed_everything(args.seed)
    spec = ctx.input_spec
    t0 = time.monotonic()  # --time-limit counts image loading too
    log(f"loading {len(ctx.train_pairs)} training and {len(ctx.val_pairs)} validation images")
    lut = ctx.label_map.lookup() if ctx.label_map else None
    train_x, train_y = load_set(ctx.train_pairs, spec, ctx.model.in_channels, lut)
    val_x, val_y = load_set(ctx.val_pairs, spec, ctx.model.in_channels, lut)
    if lut is not None and not bool((train_y != IGNORE_INDEX).any()):
        raise DataError("no training image has a labelled pixel")
    recipe = recipe_from_args(args)
    replay_x = replay_y = None
    if recipe.replay_dir and recipe.replay_fraction > 0:
        replay_x, replay_y = load_set(list_pairs(recipe.replay_dir), spec, ctx.model.in_channels)
    stop.check()

    model = ctx.model.to(device)
    opt = make_optimizer(model, args)
    anchor = Anchor(model.parameters(), recipe.anchor)
    average = WeightAverage(model, recipe.ema) if recipe.ema > 0 else None
    n = len(train_x)
    bs = min(args.batch_size, n) if replay_x is None else args.batch_size
    bs_new, bs_replay = recipe.split_batch(bs, replay_x is not None)
    bs_new = min(bs_new, n)
    per_epoch = math.ceil(n / bs_new)
    max_steps = ctx.max_steps(per_epoch)
    val_every = validation_interval(args.val_every, per_epoch)
    order_rng, aug_rng = np.random.default_rng(args.seed), np.random.default_rng(args.seed + 1)
    replay = ReplaySampler(len(replay_x), np.random.default_rng(args.seed + 2)) if replay_x is not None else None
    events.emit("start", trainImages=n, valImages=len(val_x), batchSize=bs, stepsPerEpoch=per_epoch,
                maxSteps=None if max_steps == math.inf else max_steps, epochs=ctx.epochs,
                timeLimit=args.time_limit, device=str(device), size=list(spec["size"]),
                channelMode=spec["channelMode"], optimizer=args.optimizer, lr=args.lr,
                seed=args.seed, threads=torch.get_num_threads(), recipe=recipe.describe(),
                replayImages=0 if replay_x is None else len(replay_x), replayPerBatch=bs_replay)

    step, epoch, step_time, last_val_step, val_time = 0, 0, None, -1, 0.0
    best, best_score = {"dice": -1.0}, -1.0
    best_state, best_epoch = None, 0

    def do_validation() -> None:
        nonlocal best_state, best_epoch, best_score, last_val_step, val_time
        tv = time.monotonic()
        live = average.swap(model) if average is not None else None
        m = validate(model, val_x, val_y, device, batch_size=bs, stop=stop.check, label_names=ctx.labels)
        last_val_step, val_time = step, time.monotonic() - tv
        score = selection_score(m)
        if score > best_score:
            best_score = score
            best.clear()
            best.update(m)
            best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            best_epoch = epoch
        if live is not None:
            model.load_state_dict(live)
        events.emit("epoch", epoch=epoch, step=step, valDice=m["dice"], valIou=m["iou"],
                    valSensitivity=m["sensitivity"], valPrecision=m["precision"], valN=m["n"],
                    bestDice=best["dice"], bestEpoch=best_epoch, parentDistance=round(anchor.distance(), 4),
                    elapsedSeconds=round(time.monotonic() - t0, 2),
                    **({"valLabels": [{"name": x["name"], "dice": x["dice"]} for x in m["labels"]]} if "labels" in m else {}))
        model.train()

    def out_of_time() -> bool:
        if args.time_limit is None:
            return False
        # Stop when the next step would cross the limit, not after it.
        return time.monotonic() - t0 + (step_time or 0.0) > args.time_limit

    while not (step >= max_steps or out_of_time()):
        epoch += 1
        model.train()
        if recipe.freeze_norm:
            freeze_norm_statistics(model)
        perm = order_rng.permutation(n)
        for b in range(per_epoch):
            if step >= max_steps or out_of_time():
                break
            stop.check()
            ts = time.monotonic()
            idx = torch.from_numpy(perm[b * bs_new:(b + 1) * bs_new])
            xb, yb = train_x[idx], train_y[idx]
            if replay is not None:
                ridx = torch.from_numpy(replay.take(bs_replay))
                xb, yb = torch.cat([xb, replay_x[ridx]]), torch.cat([yb, replay_y[ridx]])
            if recipe.appearance > 0:
                xb = appearance_augment(xb, aug_rng, recipe.appearance)
            if recipe.zoom > 0:
                xb, yb = scale_augment(xb, yb, aug_rng, 0.5, recipe.zoom)
            xb, yb = augment(xb, yb, aug_rng, mirror_only=recipe.mirror_only, flip=not recipe.no_flip)
            progress = step / max_steps if max_steps != math.inf else 0.0
            if args.time_limit:
                progress = max(progress, (time.monotonic() - t0) / args.time_limit)
            lr = lr_at(args.lr, progress, args.schedule)
            target = yb.long().to(device) if model.classes > 1 else yb.float().to(device)
            loss = _train_step(model, opt, expand_planes(xb, model.in_channels).to(device), target, lr, anchor)
            if average is not None:
                average.update(model)
            step += 1
            dt = time.monotonic() - ts
            step_time = dt if step_time is None else 0.8 * step_time + 0.2 * dt
            eta = _eta(max_steps - step, per_epoch * val_every, step_time, val_time,
                       time.monotonic() - t0, args.time_limit)
            events.emit("step", step=step, epoch=epoch, loss=loss, lr=lr, etaSeconds=round(eta, 1),
                        stepSeconds=round(dt, 3))
        else:
            if epoch % val_every == 0:
                stop.check()
                do_validation()
            continue
        break  # stopped inside an epoch (step or time limit)
    if last_val_step != step:
        do_validation()

    stop.check()
    model.load_state_dict(best_state)
    model.cpu().eval()
    duration = time.monotonic() - t0
    validation = {k: best[k] for k in ("dice", "iou", "sensitivity", "precision", "n") + (("labels",) if "labels" in best else ())}
    log(f"best validation Dice {best['dice']:.4f} at epoch {best_epoch}; writing {ctx.out}")
    training = {"data": ctx.data_description, "command": ctx.command, "seed": args.seed,
                "optimizer": ctx.optimizer_description(), "epochs": epoch, "steps": step,
                "durationSeconds": round(duration, 1), "machine": machine_description(),
                "torch": torch.__version__, "device": device.type,
                "loss": "dice+cross-entropy (softmax)" if model.classes > 1 else "0.5·bce+dice (sigmoid)"}
    if ctx.init_from_id:
        training["initializedFrom"] = ctx.init_from_id
    manifest = build_manifest(model=model, model_id=ctx.model_id, name=ctx.name, version=args.version,
                              parent=ctx.parent_id, input_spec=spec, labels=ctx.labels,
                              threshold=args.threshold, training=training, validation=validation,
                              label_map=ctx.label_map)
    _write_package(ctx, model, manifest, stop)
    return manifest["metrics"]


def _train_step(model: torch.nn.Module, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor, lr: float,
                anchor: Anchor) -> float:
    """One optimiser step; y is (N,1,H,W) float 0/1 for a binary model (BCE + Dice) or class
    indices with 255 ignored for a multi-class one (DiceCE). Returns the loss."""
    for g in opt.param_groups:
        g["lr"] = lr
    logits = model(x)
    loss = dice_ce_loss(logits, y) if logits.shape[1] > 1 else seg_loss(logits, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    anchor.apply()
    opt.step()
    return float(loss.item())


def _train_step_loss(model: torch.nn.Module, opt: torch.optim.Optimizer, lr: float, anchor: Anchor,
                     loss_fn: Callable[[], torch.Tensor]) -> float:
    """One optimiser step on loss_fn()'s loss (the 3D loop's sparse-slice DiceCE); returns it."""
    for g in opt.param_groups:
        g["lr"] = lr
    loss = loss_fn()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    anchor.apply()
    opt.step()
    return float(loss.item())


def _eta(steps_left: float, steps_per_validation: int, step_time: float, val_time: float, elapsed: float,
         time_limit: float | None) -> float:
    """Seconds left: remaining steps and validations, capped by the time limit; -1 if unbounded."""
    left = math.inf
    if steps_left != math.inf:
        left = steps_left * step_time + math.ceil(steps_left / steps_per_validation) * val_time
    if time_limit:
        left = min(left, max(0.0, time_limit - elapsed))
    return left if left != math.inf else -1.0


def _write_package(ctx: setup.TrainContext, model: torch.nn.Module, manifest: dict[str, Any], stop: StopFlag) -> None:
    out = ctx.out
    final = {name: os.path.join(out, name) for name in ("weights.pt", "model.onnx", "split.json")}
    tmps = {name: temp_path(path) for name, path in final.items()}
    ctx.temp_files.extend(tmps.values())
    write_weights(tmps["weights.pt"], model)
    stop.check()
    # A 3D model is traced at its patch (D, H, W); every spatial axis stays dynamic.
    write_onnx(model, tmps["model.onnx"], tuple(manifest["input"].get("patch") or manifest["input"]["size"]))
    stop.check()
    write_json_atomic(tmps["split.json"], ctx.split_record)
    # Commit: from here on a signal only sets the flag; the renames take milliseconds.
    stop.committing = True
    for name in ("weights.pt", "model.onnx", "split.json"):
        os.replace(tmps[name], final[name])
    write_json_atomic(os.path.join(out, "model.json"), manifest)
    ctx.committed = True
