"""Metrics on known masks, including the empty-mask conventions, and `evaluate` end to end with
models whose prediction is known in advance (everything / nothing is lesion)."""

import os
import shutil
import tempfile
import unittest

import fixtures
import numpy as np
import torch
from PIL import Image

from lgms_trainer.data import load_mask
from lgms_trainer.evaluate import evaluate_folder
from lgms_trainer.metrics import overlap_metrics, seg_loss
from lgms_trainer.model import build_model
from lgms_trainer.package import build_manifest, default_input_spec, save_weights
from lgms_trainer.runtime import write_json_atomic


class Metrics(unittest.TestCase):
    def test_known_overlap(self):
        truth = np.zeros((10, 10), bool)
        truth[0:4, 0:5] = True  # 20 pixels
        pred = np.zeros((10, 10), bool)
        pred[2:6, 0:5] = True  # 20 pixels, 10 of them shared
        m = overlap_metrics(pred, truth)
        self.assertAlmostEqual(m["dice"], 2 * 10 / 40)
        self.assertAlmostEqual(m["iou"], 10 / 30)
        self.assertAlmostEqual(m["sensitivity"], 10 / 20)
        self.assertAlmostEqual(m["precision"], 10 / 20)

    def test_empty_cases(self):
        empty, some = np.zeros((4, 4), bool), np.eye(4, dtype=bool)
        self.assertEqual(overlap_metrics(empty, empty), {"dice": 1.0, "iou": 1.0, "sensitivity": 1.0, "precision": 1.0})
        self.assertEqual(overlap_metrics(some, empty), {"dice": 0.0, "iou": 0.0, "sensitivity": 0.0, "precision": 0.0})
        self.assertEqual(overlap_metrics(empty, some), {"dice": 0.0, "iou": 0.0, "sensitivity": 0.0, "precision": 0.0})

    def test_loss_is_small_for_confident_correct_logits(self):
        t = torch.zeros(2, 1, 8, 8)
        t[:, :, 2:6, 2:6] = 1
        good, bad = seg_loss(20 * (2 * t - 1), t), seg_loss(-20 * (2 * t - 1), t)
        self.assertLess(good.item(), 1e-3)
        self.assertGreater(bad.item(), 1.0)


def _constant_model_package(folder, bias):
    """A package whose logits are `bias` everywhere: head weights 0, head bias = bias."""
    model = build_model()
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.fill_(bias)
    os.makedirs(folder)
    save_weights(os.path.join(folder, "weights.pt"), model)
    spec = default_input_spec((64, 64), "replicate", {"type": "scale", "min": 0, "max": 255})
    manifest = build_manifest(model=model, model_id="const", name="const", version="1.0.0", parent=None,
                              input_spec=spec, labels=["lesion"], threshold=0.5, training={},
                              validation=None)
    write_json_atomic(os.path.join(folder, "model.json"), manifest)


class EvaluateFolder(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        # Non-square images exercise the letterbox and its inverse; image 0 has no lesion.
        cls.data = fixtures.make_dataset(os.path.join(cls.tmp, "data"), n=3, size=(48, 80), empty_every=3)
        cls.all_fg = os.path.join(cls.tmp, "all")
        cls.all_bg = os.path.join(cls.tmp, "none")
        _constant_model_package(cls.all_fg, 10.0)
        _constant_model_package(cls.all_bg, -10.0)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def _truth_sizes(self):
        masks = sorted(os.listdir(os.path.join(self.data, "masks")))
        return [int(load_mask(os.path.join(self.data, "masks", f)).sum()) for f in masks]

    def test_predict_everything(self):
        r = evaluate_folder(self.all_fg, self.data)
        n_pixels = 48 * 80
        for img, t in zip(r["images"], self._truth_sizes()):
            if t == 0:
                self.assertEqual(img["dice"], 0.0)
                self.assertEqual(img["precision"], 0.0)
            else:
                self.assertAlmostEqual(img["dice"], 2 * t / (t + n_pixels))
                self.assertAlmostEqual(img["iou"], t / n_pixels)
                self.assertAlmostEqual(img["sensitivity"], 1.0)
                self.assertAlmostEqual(img["precision"], t / n_pixels)
        self.assertEqual(r["mean"]["n"], 3)
        self.assertAlmostEqual(r["mean"]["dice"], sum(i["dice"] for i in r["images"]) / 3)

    def test_predict_nothing_via_cli(self):
        rc, events, err = fixtures.run_cli("evaluate", "--model", self.all_bg, "--data", self.data)
        self.assertEqual(rc, 0, err)
        r = events[-1]
        self.assertEqual(r["event"], "evaluation")
        expected = [1.0 if t == 0 else 0.0 for t in self._truth_sizes()]
        self.assertEqual([i["dice"] for i in r["images"]], expected)
        self.assertAlmostEqual(r["mean"]["dice"], 1 / 3)

    def test_threshold_option(self):
        # Logit 10 → p ≈ 0.99995: a threshold above that turns "everything" into "nothing".
        r = evaluate_folder(self.all_fg, self.data, threshold=0.99999)
        self.assertAlmostEqual(r["mean"]["dice"], 1 / 3)


class MaskReading(unittest.TestCase):
    def test_nonzero_is_foreground(self):
        with tempfile.TemporaryDirectory() as d:
            p = os.path.join(d, "m.png")
            Image.fromarray(np.array([[0, 1], [255, 0]], np.uint8)).save(p)
            self.assertEqual(load_mask(p).tolist(), [[False, True], [True, False]])


if __name__ == "__main__":
    unittest.main()
