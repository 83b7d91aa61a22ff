"""`train --dims 3` (issue 25): staged volumes with sparsely labelled slices, patches, the 3D
package (model.json's SPEC3D fields, ONNX N×C×D×H×W), validation on labelled slices only,
fine-tune from a 3D parent, and the inputs that are refused."""

import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import fixtures
import numpy as np
import torch

from lgms_trainer.__main__ import build_parser
from lgms_trainer.labels import IGNORE_INDEX, parse_label_map
from lgms_trainer.model import build_model
from lgms_trainer.package import load_model, save_weights
from lgms_trainer.reference import write_reference
from lgms_trainer.runtime import Events
from lgms_trainer.sliding import gaussian_1d, predict_volume, validate_volumes, window_starts
from lgms_trainer.train import run_train
from lgms_trainer.volumes import augment_patch, load_volume, sample_batch, sample_patch

NODE_ORT = os.path.join(fixtures.TRAINER_DIR, "..", "..", "node_modules", "onnxruntime-node")
HAS_NODE_ORT = bool(shutil.which("node")) and os.path.isdir(NODE_ORT)
LUT = parse_label_map(fixtures.VOLUME_LABEL_MAP).lookup()


def _train_in_process(*argv):
    """run_train in this process (no torch start-up per call); returns (status, events)."""
    args = build_parser().parse_args(["train", *argv])
    if args.lr is None:  # as __main__ does before run_train
        args.lr = 0.01 if args.optimizer == "sgd" else 1e-3
    stream = io.StringIO()
    status = run_train(args, ["train", *argv], Events(stream))
    return status, [json.loads(line) for line in stream.getvalue().splitlines()]


class Staged(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.data = fixtures.make_volume_dataset(os.path.join(self.tmp, "data"))
        self.label_map = fixtures.write_label_map(os.path.join(self.tmp, "labels.json"), fixtures.VOLUME_LABEL_MAP)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def case(self, i=0):
        return os.path.join(self.data, "volumes", f"case{i:02d}")

    def refused(self, *extra, data=None):
        status, events = _train_in_process("--dims", "3", "--data", data or self.data, "--label-map", self.label_map,
                                           "--patch", "32,32,32", "--max-steps", "1",
                                           "--out", os.path.join(self.tmp, "refused"), *extra)
        self.assertEqual(status, 1)
        self.assertEqual(events[-1]["event"], "error")
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "refused", "model.json")))
        return events[-1]["message"]


class Refusals(Staged):
    def test_missing_meta_json(self):
        os.remove(os.path.join(self.case(1), "meta.json"))
        self.assertIn("volume case01: meta.json is missing", self.refused())

    def test_image_and_labels_differ_in_shape(self):
        np.save(os.path.join(self.case(0), "labels.npy"), np.zeros((32, 64, 32), np.uint8))
        self.assertIn("differ in shape", self.refused())

    def test_patch_not_a_multiple_of_32(self):
        self.assertIn("multiple of 32", self.refused("--patch", "32,48,64"))

    def test_an_images_folder_is_2d_data(self):
        images = fixtures.make_label_dataset(os.path.join(self.tmp, "images2d"), n=2)
        self.assertIn("train a 2D model", self.refused(data=images))

    def test_a_2d_model_cannot_start_a_3d_one(self):
        folder = os.path.join(self.tmp, "model2d")
        os.makedirs(folder)
        save_weights(os.path.join(folder, "weights.pt"), build_model(3, 3))
        self.assertIn("is a 2D model", self.refused("--init-from", folder))
        self.assertIn("is a 2D model", self.refused("--init", folder))

    def test_width_not_a_multiple_of_8(self):
        self.assertIn("--width must be a multiple of 8", self.refused("--width", "12"))

    def test_volumes_at_another_spacing(self):
        self.assertIn("staged at [3.0, 2.0, 2.0] mm", self.refused("--spacing", "1,1,1"))


class NarrowWidth(unittest.TestCase):
    def test_the_width_travels_in_the_weights(self):
        from lgms_trainer.model import build_model_3d, count_parameters
        with tempfile.TemporaryDirectory() as folder:
            save_weights(os.path.join(folder, "weights.pt"), build_model_3d(1, 14, 8))
            model, _ = load_model(folder)
        self.assertEqual((model.dims, model.width, count_parameters(model)), (3, 8, 1_582_766))


class Patches(Staged):
    def test_every_patch_holds_a_labelled_slice_and_most_foreground(self):
        vol = load_volume(self.case(), LUT)
        rng = np.random.default_rng(0)
        with_fg = 0
        for _ in range(60):
            image, classes, labelled = sample_patch(vol, (16, 32, 32), rng)
            self.assertEqual(image.shape, (16, 32, 32))
            self.assertTrue(labelled.any())
            self.assertTrue((classes[~labelled] == IGNORE_INDEX).all())
            with_fg += bool(((classes > 0) & (classes != IGNORE_INDEX)).any())
        self.assertGreater(with_fg, 36)  # two in three are centred on foreground, others may hit it

    def test_a_volume_smaller_than_the_patch_is_padded(self):
        vol = load_volume(self.case(), LUT)
        image, classes, labelled = sample_patch(vol, (64, 64, 64), np.random.default_rng(1))
        self.assertEqual(image.shape, (64, 64, 64))
        # Centred padding: slices 0-15 and 48-63 are outside the 32-slice volume.
        self.assertTrue((image[:16] == 0).all() and (classes[:16] == IGNORE_INDEX).all())
        self.assertFalse(labelled[:16].any() or labelled[48:].any())
        self.assertEqual(labelled[16:48].tolist(), vol.labelled.tolist())

    def test_unlabelled_slices_teach_nothing(self):
        # Labels written on a slice the reader did not label (not in labelledSlices) change
        # neither the patches' targets nor the loss.
        before = load_volume(self.case(), LUT)
        labels = np.load(os.path.join(self.case(), "labels.npy"))
        labels[1], labels[2] = 1, 0
        np.save(os.path.join(self.case(), "labels.npy"), labels)
        after = load_volume(self.case(), LUT)
        self.assertTrue(np.array_equal(before.classes, after.classes))
        a = sample_batch([before], (32, 32, 32), 2, np.random.default_rng(5))
        b = sample_batch([after], (32, 32, 32), 2, np.random.default_rng(5))
        for x, y in zip(a, b):
            self.assertTrue(torch.equal(x, y))


class NoFlip(unittest.TestCase):
    def test_no_flip_keeps_the_sides_of_lateral_labels(self):
        # A right kidney (1) on the image's left half, a left kidney (2) on its right half.
        classes = np.zeros((4, 8, 8), dtype=np.uint8)
        classes[:, :, :4], classes[:, :, 4:] = 1, 2
        image = classes.astype(np.float32) / 2
        rng = np.random.default_rng(0)
        flipped = sum(not np.array_equal(augment_patch(image, classes, rng)[1], classes) for _ in range(20))
        self.assertGreater(flipped, 0)  # the default mirrors, which swaps the two kidneys
        for _ in range(20):
            self.assertTrue(np.array_equal(augment_patch(image, classes, rng, flip=False)[1], classes))

    def test_the_option(self):
        self.assertTrue(build_parser().parse_args(["train", "--data", "d", "--out", "o", "--no-flip"]).no_flip)

    def test_intensities_stay_as_staged(self):
        # A CT's HU window and an MR's percentiles fix the intensities; scaling and shifting them
        # scored lower on the MR benchmark's tuning splits (docs/benchmarks.md, sixth session).
        rng = np.random.default_rng(0)
        image = rng.random((4, 8, 8), dtype=np.float32)
        classes = (image * 3).astype(np.uint8)
        for _ in range(10):
            out_image, out_classes = augment_patch(image, classes, rng)
            self.assertTrue(np.array_equal(out_classes, (out_image * 3).astype(np.uint8)))
            self.assertTrue(np.array_equal(np.sort(out_image, axis=None), np.sort(image, axis=None)))


class OneHot(torch.nn.Module):
    """A stand-in network that predicts round(intensity) as the class of each voxel."""

    classes, in_channels, dims = 3, 1, 3

    def forward(self, x):
        cls = x[:, 0].round().clamp(0, self.classes - 1).long()
        return 10 * torch.nn.functional.one_hot(cls, self.classes).movedim(-1, 1).float()


class Validation(Staged):
    def test_windows_and_weights_as_the_app(self):
        # Values of sliding-window.ts windowStarts / gaussian1d.
        self.assertEqual(window_starts(62, 32), [0, 15, 30])
        self.assertEqual(window_starts(128, 64), [0, 32, 64])
        self.assertEqual(window_starts(20, 32), [0])
        g = gaussian_1d(32)
        self.assertAlmostEqual(g.max(), 1.0, places=6)
        self.assertTrue(np.allclose(g, g[::-1]))
        self.assertAlmostEqual(g[0], np.exp((0.5 ** 2 - 15.5 ** 2) / (2 * 4 ** 2)), places=9)  # peak between voxels 15, 16

    def test_scores_the_labelled_slices_only(self):
        vol = load_volume(self.case(), LUT)
        truth = np.load(os.path.join(self.case(), "labels.npy"))
        vol.image = np.where(vol.labelled[:, None, None], truth, 2).astype(np.float32)  # wrong off the labelled slices
        m = validate_volumes(OneHot(), [vol], (32, 32, 32), torch.device("cpu"), ["sphere", "slab"])
        self.assertEqual(m["dice"], 1.0)
        self.assertEqual([x["pooledDice"] for x in m["labels"]], [1.0, 1.0])
        # Blending windows of the same prediction gives that prediction on every slice.
        prob = predict_volume(OneHot(), vol.image, (32, 32, 32), torch.device("cpu"))
        self.assertTrue(np.array_equal(prob.argmax(0), np.clip(np.round(vol.image), 0, 2)))


class TimeLimit(Staged):
    def test_the_time_limit_stops_the_run(self):
        # Without it, the default 20 epochs of 50 steps would run; with 8 s, a few steps and a
        # validation, then the package.
        out = os.path.join(self.tmp, "timed")
        status, events = _train_in_process("--dims", "3", "--data", self.data, "--val-data", self.data,
                                           "--label-map", self.label_map, "--patch", "32,32,32",
                                           "--time-limit", "8", "--out", out)
        self.assertEqual(status, 0, events[-1])
        steps = [e for e in events if e["event"] == "step"]
        self.assertLess(len(steps), 20)
        self.assertTrue(os.path.exists(os.path.join(out, "model.json")))


class TrainAndPackage(Staged):
    """One short run (two steps) shared by the package checks; a fine-tune from it."""

    def test_package_onnx_finetune_and_seed(self):
        out = os.path.join(self.tmp, "m")
        rc, events, err = fixtures.run_cli("train", "--dims", "3", "--data", self.data, "--val-data", self.data,
                                           "--label-map", self.label_map, "--patch", "32,32,32", "--max-steps", "2",
                                           "--seed", "3", "--out", out)
        self.assertEqual(rc, 0, err[-2000:])
        with open(os.path.join(out, "model.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        arch, inp, outp = manifest["architecture"], manifest["input"], manifest["output"]
        self.assertEqual((arch["dims"], arch["depths"], arch["inChannels"], arch["classes"]), (3, [1, 1, 3, 1, 1], 1, 3))
        self.assertEqual(inp, {"channels": 1, "size": [32, 32], "channelMode": "replicate", "resize": "letterbox",
                               "normalization": {"type": "percentile", "low": 0.5, "high": 99.5},
                               "patch": [32, 32, 32], "spacing": [3.0, 2.0, 2.0]})
        self.assertEqual(outp, {"classes": 3, "labels": ["sphere", "slab"], "values": [1, 2], "activation": "softmax"})
        self.assertEqual(manifest["metrics"]["validation"]["n"], 2)
        model, _ = load_model(out)
        self.assertEqual((model.dims, model.classes), (3, 3))
        self._check_seed(out, [e["loss"] for e in events if e["event"] == "step"])
        self._check_finetune(out, manifest["id"])
        self._check_onnx(model, os.path.join(out, "model.onnx"))

    def _check_onnx(self, model, onnx_path):
        if not HAS_NODE_ORT:
            self.skipTest("onnxruntime-node not installed")
        ref = os.path.join(self.tmp, "ref.bin")
        write_reference(model, (2, 1, 32, 32, 64), ref)  # batch 2 and another width than the trace
        script = os.path.join(os.path.dirname(__file__), "ort_parity.cjs")
        r = subprocess.run(["node", script, os.path.abspath(NODE_ORT), onnx_path, ref], capture_output=True,
                           text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr)
        result = json.loads(r.stdout)
        self.assertEqual(result["shape"], [2, 3, 32, 32, 64])
        self.assertLess(result["maxAbsDiff"], 1e-4)

    def _check_seed(self, out, losses):
        # The same seed, with labels written on a slice nobody labelled, trains the same steps.
        labels = np.load(os.path.join(self.case(), "labels.npy"))
        labels[1] = 1
        np.save(os.path.join(self.case(), "labels.npy"), labels)
        rc, events, err = fixtures.run_cli("train", "--dims", "3", "--data", self.data, "--val-data", self.data,
                                           "--label-map", self.label_map, "--patch", "32,32,32", "--max-steps", "2",
                                           "--seed", "3", "--out", out + "-again")
        self.assertEqual(rc, 0, err[-2000:])
        self.assertEqual([e["loss"] for e in events if e["event"] == "step"], losses)

    def _check_finetune(self, parent, parent_id):
        child = os.path.join(self.tmp, "child")
        rc, events, err = fixtures.run_cli("train", "--dims", "3", "--data", self.data, "--val-data", self.data,
                                           "--label-map", self.label_map, "--init", parent, "--max-steps", "1",
                                           "--out", child)
        self.assertEqual(rc, 0, err[-2000:])
        with open(os.path.join(child, "model.json"), encoding="utf-8") as f:
            manifest = json.load(f)
        self.assertEqual(manifest["parent"], parent_id)
        self.assertEqual((manifest["input"]["patch"], manifest["input"]["spacing"]), ([32, 32, 32], [3.0, 2.0, 2.0]))
        status, ev = _train_in_process("--dims", "3", "--data", self.data, "--label-map", self.label_map,
                                       "--init", parent, "--patch", "32,64,64", "--max-steps", "1",
                                       "--out", os.path.join(self.tmp, "child2"))
        self.assertEqual(status, 1)
        self.assertIn("keeps its parent's patch", ev[-1]["message"])


if __name__ == "__main__":
    unittest.main()
