"""Command line: python -m lgms_trainer {info,train,evaluate,export,reference,bench} ...
Stdout carries JSON only (one object per line); human-readable logs go to stderr."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from typing import Any, Sequence

from . import __version__

#: The trainer's options, stated once (options.json beside this file): this parser is built from
#: it and the backend (src/main/training/recipe.ts) validates and builds the argv it sends from it.
OPTIONS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "options.json")
_TYPES = {"str": str, "int": int, "float": float}


def load_options() -> dict[str, Any]:
    """The commands of options.json: {command: {help, options: {name: {type, help, default?,
    required?, choices?}}}}. Raises ValueError naming the option when an entry is malformed."""
    with open(OPTIONS_FILE, encoding="utf-8") as f:
        commands = json.load(f)["commands"]
    for command, spec in commands.items():
        for name, option in spec["options"].items():
            if option.get("type") not in (*_TYPES, "flag"):
                raise ValueError(f"options.json: {command} --{name} has type {option.get('type')!r}, "
                                 "not one of str, int, float, flag")
            if option["type"] == "flag" and ("default" in option or "choices" in option):
                raise ValueError(f"options.json: the flag {command} --{name} takes no default or choices")
    return commands


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser, one sub-command per entry of options.json."""
    p = argparse.ArgumentParser(prog="lgms_trainer", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    for command, spec in load_options().items():
        c = sub.add_parser(command, help=spec["help"], description=spec["help"])
        for name, option in spec["options"].items():
            kwargs: dict[str, Any] = {"help": option["help"]}
            if option["type"] == "flag":
                kwargs["action"] = "store_true"
            else:
                kwargs["type"] = _TYPES[option["type"]]
                for key in ("default", "choices", "required"):
                    if key in option:
                        kwargs[key] = option[key]
            c.add_argument(f"--{name}", **kwargs)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    # Measured on the shared 2-core machine: with other processes busy, OpenMP threads that
    # spin while waiting made a training step 4-7x slower than threads that sleep. It must be
    # set before torch loads its OpenMP runtime; an explicit setting in the environment wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from .runtime import Events, log, reserve_stdout
    events = Events(reserve_stdout())
    try:
        return _dispatch(args, argv, events)
    except Exception as e:  # every failure reaches the app as one JSON line
        log(f"{args.command} failed: {type(e).__name__}: {e}")
        events.emit("error", message=f"{type(e).__name__}: {e}")
        return 1


def _dispatch(args: argparse.Namespace, argv: list[str], events: Any) -> int:
    import torch
    from .runtime import configure_threads, pick_device
    if args.command == "train":
        from .train import run_train
        if args.lr is None:
            args.lr = 0.01 if args.optimizer == "sgd" else 1e-3
        return run_train(args, argv, events)

    configure_threads(torch.device("cpu"), getattr(args, "threads", None))
    if args.command == "bench":
        from .bench import bench, compare_norm
        if args.compare_norm:
            events.emit("bench", **compare_norm(pick_device(args.device), args.size, args.batch_size, args.rounds, args.steps))
        else:
            events.emit("bench", **bench(pick_device(args.device), args.size, args.batch_size, args.steps))
    elif args.command == "info":
        from .model import build_model, count_parameters
        from .runtime import available_devices
        devices = available_devices()
        events.emit("info", torch=torch.__version__, device=pick_device().type, devices=devices,
                    trainerVersion=__version__, parameters=count_parameters(build_model()),
                    python=platform.python_version(), onnx=_importable("onnx"),
                    onnxruntime=_importable("onnxruntime"), threads=torch.get_num_threads())
    elif args.command == "evaluate":
        from .evaluate import evaluate_folder
        result = evaluate_folder(args.model, args.data, use_onnx=args.onnx, threshold=args.threshold,
                                 min_component=args.min_component)
        events.emit("evaluation", **result)
    elif args.command == "export":
        from .export import export_onnx
        from .package import load_model
        model, _ = load_model(args.model)
        out = args.out or os.path.join(args.model, "model.onnx")
        export_onnx(model, out, (args.size, args.size))
        events.emit("exported", out=os.path.abspath(out))
    elif args.command == "reference":
        from .package import load_model
        from .reference import write_reference
        shape = tuple(int(v) for v in args.shape.split(","))
        if len(shape) != 4:
            raise ValueError("--shape must be N,C,H,W")
        model, _ = load_model(args.model)
        events.emit("reference", out=os.path.abspath(args.out), **write_reference(model, shape, args.out))
    return 0


def _importable(name: str) -> bool:
    import importlib.util
    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    sys.exit(main())
