"""Learning curve of a fine-tuning recipe: held-out Dice after N labelled images (issue 12).

For each N, fine-tunes the parent on the first N images of --train (sorted by name, so the sets
are nested: the 8 include the 4), with the recipe given after `--`, then evaluates the result
on --test-shifted and --test-base with the trainer's `evaluate` (PyTorch, the app's
preprocessing). The parent itself is evaluated once as N = 0. Writes the figures as JSON (the
shape the app's Models view reads, resources/models/<model>/learning-curve.json) and, when
matplotlib is installed, a PNG plot; an SVG is written either way.

    python3 scripts/learning_curve.py --parent ../models/lgmsnet-starter --train T --val V \\
        --test-shifted S --test-base B --counts 4,8,16,32 --out curve.json --plot curve.png \\
        -- --max-steps 150 --optimizer adamw --lr 1e-3 --replay ../models/lgmsnet-starter/replay --replay-fraction 0.5

Each run's wall time (training only) and the machine's load average are recorded, since a
shared machine makes them vary. Runs one training at a time; --threads is passed through.
"""

import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINER = os.path.dirname(HERE)


def trainer(*args, threads):
    """Runs `python -m lgms_trainer ...`; returns its last JSON line."""
    out = subprocess.run([sys.executable, "-m", "lgms_trainer", *args, "--threads", str(threads)], cwd=TRAINER,
                         check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def evaluate(model, data, threads):
    return trainer("evaluate", "--model", model, "--data", data, threads=threads)["mean"]["dice"]


def subset(src, n, dst):
    """dst/images + dst/masks with links to the first n images of src (sorted) and their masks."""
    names = sorted(f for f in os.listdir(os.path.join(src, "images")) if not f.startswith("."))
    if len(names) < n:
        raise SystemExit(f"{src} has {len(names)} images, fewer than {n}")
    masks = {os.path.splitext(f)[0]: f for f in os.listdir(os.path.join(src, "masks"))}
    for d in ("images", "masks"):
        os.makedirs(os.path.join(dst, d))
    for f in names[:n]:
        os.symlink(os.path.join(src, "images", f), os.path.join(dst, "images", f))
        m = masks[os.path.splitext(f)[0]]
        os.symlink(os.path.join(src, "masks", m), os.path.join(dst, "masks", m))
    return [os.path.splitext(f)[0] for f in names[:n]]


def svg_plot(points, path, title):
    """A dependency-free SVG line chart of shifted and base Dice against N (log2 x axis)."""
    import math
    w, h, left, bottom, top, right = 560, 340, 60, 50, 30, 20
    xs = [p["n"] for p in points]
    lo = min(min(p["shifted"], p["base"]) for p in points)
    ymin, ymax = math.floor(lo * 10) / 10, 1.0
    xpos = {n: left + (w - left - right) * i / max(1, len(xs) - 1) for i, n in enumerate(xs)}

    def y(v):
        return top + (h - top - bottom) * (ymax - v) / (ymax - ymin)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="18" text-anchor="middle">{title}</text>']
    t = ymin
    while t <= ymax + 1e-9:
        out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#ddd"/>'
                   f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{t:.2f}</text>')
        t += 0.05
    for n, x in xpos.items():
        out.append(f'<text x="{x:.1f}" y="{h - bottom + 18}" text-anchor="middle">{n}</text>')
    out.append(f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">labelled shifted-domain images (0 = the parent)</text>')
    for key, colour in (("shifted", "#1f77b4"), ("base", "#d62728")):
        pts = " ".join(f"{xpos[p['n']]:.1f},{y(p[key]):.1f}" for p in points)
        out.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for p in points:
            out.append(f'<circle cx="{xpos[p["n"]]:.1f}" cy="{y(p[key]):.1f}" r="3" fill="{colour}"/>')
        last = points[-1]
        out.append(f'<text x="{xpos[last["n"]] - 4:.1f}" y="{y(last[key]) - 8:.1f}" text-anchor="end" fill="{colour}">'
                   f'held-out {key} Dice</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def png_plot(points, path, title):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(5.6, 3.4), dpi=100)
    xs = list(range(len(points)))
    for key, colour in (("shifted", "tab:blue"), ("base", "tab:red")):
        ax.plot(xs, [p[key] for p in points], "o-", color=colour, label=f"held-out {key} Dice")
    ax.set_xticks(xs, [str(p["n"]) for p in points])
    ax.set_xlabel("labelled shifted-domain images (0 = the parent)")
    ax.set_ylabel("mean Dice")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    return True


def main():
    argv = sys.argv[1:]
    recipe = argv[argv.index("--") + 1:] if "--" in argv else []
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parent", required=True)
    ap.add_argument("--train", required=True, help="images/ + masks/ of the labelled shifted-domain pool")
    ap.add_argument("--val", required=True, help="frozen validation set (picks the best checkpoint)")
    ap.add_argument("--test-shifted", required=True)
    ap.add_argument("--test-base", required=True)
    ap.add_argument("--counts", default="4,8,16,32")
    ap.add_argument("--known", help="JSON lines of points measured elsewhere with the same recipe and data "
                                   "(e.g. the 16-image run): {\"n\", \"shifted\", \"base\", \"trainSeconds\"}")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", required=True, help="JSON file")
    ap.add_argument("--plot", help="PNG file (an SVG beside it is written too)")
    ap.add_argument("--title", default="Fine-tuning the starter: held-out Dice vs labelled images")
    ap.add_argument("--data-description", default="", help="where the sets come from (kept in the JSON)")
    args = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)
    counts = [int(c) for c in args.counts.split(",")]
    parent = os.path.abspath(args.parent)
    work = tempfile.mkdtemp(prefix="lgms-curve-")
    points = []

    def save():
        # After every point, so a run stopped part-way keeps what it measured.
        result = {
            "format": "lgms-learning-curve/1",
            "model": json.load(open(os.path.join(parent, "model.json")))["id"],
            "metric": "mean Dice",
            "recipe": " ".join(recipe),
            "data": args.data_description,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "points": [{k: v for k, v in p.items() if k != "images"} for p in points],
        }
        with open(args.out, "w") as f:
            f.write(json.dumps(result, indent=2) + "\n")
        if args.plot and len(points) > 1:
            png_plot(points, args.plot, args.title)
            svg_plot(points, os.path.splitext(args.plot)[0] + ".svg", args.title)

    try:
        if args.known:
            points.extend(json.loads(line) for line in open(args.known) if line.strip())
        if not any(p["n"] == 0 for p in points):
            points.append({"n": 0, "shifted": evaluate(parent, args.test_shifted, args.threads),
                           "base": evaluate(parent, args.test_base, args.threads), "trainSeconds": 0})
            print(json.dumps(points[-1]), flush=True)
        for n in counts:
            data, out = os.path.join(work, f"train-{n}"), os.path.join(work, f"model-{n}")
            names = subset(os.path.abspath(args.train), n, data)
            load = os.getloadavg()[0]
            t0 = time.monotonic()
            trainer("train", "--data", data, "--val-data", os.path.abspath(args.val), "--init", parent, "--out", out,
                    "--seed", "1", *recipe, threads=args.threads)
            seconds = time.monotonic() - t0
            points.append({"n": n, "shifted": evaluate(out, args.test_shifted, args.threads),
                           "base": evaluate(out, args.test_base, args.threads), "trainSeconds": round(seconds, 1),
                           "loadAverage": [round(load, 1), round(os.getloadavg()[0], 1)], "images": names})
            print(json.dumps({k: v for k, v in points[-1].items() if k != "images"}), flush=True)
            shutil.rmtree(out)
            points.sort(key=lambda p: p["n"])
            save()
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
