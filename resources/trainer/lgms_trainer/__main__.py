"""Command line: python -m lgms_trainer {info,train,evaluate,export,reference,bench} ...
Stdout carries JSON only (one object per line); human-readable logs go to stderr."""

import argparse
import os
import platform
import sys

from . import __version__


def build_parser():
    p = argparse.ArgumentParser(prog="lgms_trainer", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("info", help="torch version, devices, trainer version, parameter count")

    t = sub.add_parser("train", help="train or fine-tune; writes a model package folder")
    t.add_argument("--data", required=True, help="folder with images/ and masks/")
    t.add_argument("--val-data", help="separate frozen validation folder (images/ + masks/)")
    t.add_argument("--val-fraction", type=float, default=0.2, help="seeded split when no --val-data")
    t.add_argument("--out", required=True, help="model package folder to write")
    t.add_argument("--overwrite", action="store_true", help="replace a model already in --out")
    t.add_argument("--init", help="parent model folder (weights.pt) to fine-tune from (same classes)")
    t.add_argument("--init-from", help="model folder whose weights start a new task's first model; its head is replaced "
                                       "for the new class count and no parent is recorded")
    t.add_argument("--label-map", help="JSON {labels: [{value, name, ...}], ignoreValues: [..], task: {..}}: train "
                                       "labels + background classes (softmax, Dice + cross-entropy); masks hold label values")
    t.add_argument("--size", type=int, help="square input size, multiple of 32 (default 256 or parent's)")
    t.add_argument("--epochs", type=int)
    t.add_argument("--max-steps", type=int)
    t.add_argument("--time-limit", type=float, help="seconds for loading, training and validation (export not included)")
    t.add_argument("--batch-size", type=int, default=8)
    t.add_argument("--lr", type=float, help="default 0.01 (sgd) / 0.001 (adamw)")
    t.add_argument("--optimizer", choices=["sgd", "adamw"], default="sgd")
    t.add_argument("--schedule", choices=["poly", "cosine"], default="poly")
    t.add_argument("--weight-decay", type=float, default=1e-4, help="adamw only; sgd uses 1e-4")
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--val-every", type=int, help="validate every N epochs (default: every >= 20 steps)")
    t.add_argument("--normalization", help="scale:MIN,MAX | window:CENTER,WIDTH | percentile:LOW,HIGH")
    t.add_argument("--channel-mode", choices=["auto", "replicate", "rgb"], default="auto")
    t.add_argument("--threshold", type=float, default=0.5)
    t.add_argument("--device", default="auto", help="auto (cuda > mps > cpu) or a torch device name")
    t.add_argument("--threads", type=int, help="CPU threads (default: all cores)")
    t.add_argument("--name")
    t.add_argument("--id")
    t.add_argument("--version", default="1.0.0")
    t.add_argument("--labels", help="comma-separated output labels (default: lesion)")
    t.add_argument("--data-description")
    t.add_argument("--replay", help="images/ + masks/ of the parent's domain, mixed into every batch")
    t.add_argument("--replay-fraction", type=float, default=0.0, help="share of each batch from --replay (0..0.9)")
    t.add_argument("--anchor", type=float, default=0.0, help="L2-SP strength toward the parent's weights")
    t.add_argument("--freeze-norm", action="store_true", help="keep the parent's batch-norm statistics")
    t.add_argument("--appearance", type=float, default=0.0,
                   help="probability per image of a random gamma/contrast/depth-gain change (0..1)")
    t.add_argument("--ema", type=float, default=0.0,
                   help="validate and save an exponential moving average of the weights with this decay, e.g. 0.95")
    t.add_argument("--mirror-only", action="store_true",
                   help="augment by left-right mirroring only (no up-down flips or 90° rotations: depth stays down)")
    t.add_argument("--zoom", type=float, default=0.0, help="largest relative zoom of the scale augmentation, e.g. 0.2")

    e = sub.add_parser("evaluate", help="per-image metrics of a model package on a folder")
    e.add_argument("--model", required=True)
    e.add_argument("--data", required=True)
    e.add_argument("--onnx", action="store_true", help="run model.onnx with onnxruntime")
    e.add_argument("--threshold", type=float, help="default: model.json's threshold")
    e.add_argument("--min-component", type=int, default=0,
                   help="multi-class: drop 4-connected components under this many pixels per label (the app uses 16)")
    e.add_argument("--threads", type=int, help="CPU threads (default: all cores)")

    x = sub.add_parser("export", help="export weights.pt of a model folder to ONNX")
    x.add_argument("--model", required=True, help="folder with weights.pt")
    x.add_argument("--out", help="ONNX file (default MODEL/model.onnx)")
    x.add_argument("--size", type=int, default=256, help="trace size; H and W stay dynamic")

    b = sub.add_parser("bench", help="time training steps and a forward pass on this machine")
    b.add_argument("--size", type=int, default=256)
    b.add_argument("--batch-size", type=int, default=8)
    b.add_argument("--steps", type=int, default=3)
    b.add_argument("--compare-norm", action="store_true",
                   help="alternate training steps with the staged and the fused group norm (docs/benchmarks.md)")
    b.add_argument("--rounds", type=int, default=4, help="with --compare-norm: alternating rounds")
    b.add_argument("--device", default="auto")
    b.add_argument("--threads", type=int, help="CPU threads (default: all cores)")

    r = sub.add_parser("reference", help="deterministic input + PyTorch output for parity tests")
    r.add_argument("--model", required=True)
    r.add_argument("--shape", required=True, help="N,C,H,W")
    r.add_argument("--out", required=True)
    return p


def main(argv=None):
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


def _dispatch(args, argv, events):
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


def _importable(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    sys.exit(main())
