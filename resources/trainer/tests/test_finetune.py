"""Fine-tuning without forgetting (lgms_trainer/finetune.py): the recipe's parts in isolation,
then a CLI fine-tune that uses all of them on staged (.npy) inputs."""

import json
import os
import shutil
import tempfile
import unittest

import fixtures
import numpy as np
import torch

from lgms_trainer.finetune import (Anchor, Recipe, ReplaySampler, WeightAverage, appearance_augment,
                                   freeze_norm_statistics, scale_augment)
from lgms_trainer.metrics import seg_loss
from lgms_trainer.model import build_model
from lgms_trainer.train import validation_interval


class RecipeParts(unittest.TestCase):
    def test_split_batch_keeps_a_new_image(self):
        r = Recipe(replay_dir="x", replay_fraction=0.5)
        self.assertEqual(r.split_batch(8, True), (4, 4))
        self.assertEqual(r.split_batch(8, False), (8, 0))
        self.assertEqual(Recipe(replay_dir="x", replay_fraction=0.9).split_batch(2, True), (1, 1))
        self.assertEqual(Recipe().describe(), "plain")
        with self.assertRaises(ValueError):
            Recipe(replay_fraction=0.5)  # no replay folder
        with self.assertRaises(ValueError):
            Recipe(replay_dir="x", replay_fraction=0.95)

    def test_frozen_norm_keeps_running_statistics_but_trains_scale_and_shift(self):
        torch.manual_seed(0)
        model = build_model()
        model.train()
        freeze_norm_statistics(model)
        bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
        mean_before, weight_before = bn.running_mean.clone(), bn.weight.detach().clone()
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        x, y = torch.rand(2, 3, 64, 64) * 3 + 1, (torch.rand(2, 1, 64, 64) > 0.5).float()
        loss = seg_loss(model(x), y)
        loss.backward()
        opt.step()
        self.assertTrue(torch.equal(bn.running_mean, mean_before))
        self.assertFalse(torch.equal(bn.weight.detach(), weight_before))

    def test_anchor_adds_alpha_times_distance_to_the_gradient(self):
        p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
        anchor = Anchor([p], alpha=0.5)
        with torch.no_grad():
            p.add_(torch.tensor([0.2, -0.4]))
        p.grad = torch.zeros(2)
        anchor.apply()
        self.assertTrue(torch.allclose(p.grad, torch.tensor([0.1, -0.2])))
        self.assertAlmostEqual(anchor.distance(), (0.2 ** 2 + 0.4 ** 2) ** 0.5, places=6)

    def test_replay_sampler_uses_every_image_before_repeating(self):
        s = ReplaySampler(5, np.random.default_rng(0))
        self.assertEqual(sorted(s.take(5).tolist()), [0, 1, 2, 3, 4])
        self.assertEqual(len(s.take(7)), 7)

    def test_appearance_augment_keeps_range_and_changes_only_picked_images(self):
        x = torch.rand(6, 1, 32, 32).half()
        same = appearance_augment(x, np.random.default_rng(0), 0.0)
        self.assertTrue(torch.equal(same, x.float()))
        out = appearance_augment(x, np.random.default_rng(0), 1.0)
        self.assertEqual((out.dtype, tuple(out.shape)), (torch.float32, (6, 1, 32, 32)))
        self.assertGreaterEqual(float(out.min()), 0.0)
        self.assertLessEqual(float(out.max()), 1.0)
        self.assertTrue(all(not torch.equal(out[i], x[i].float()) for i in range(6)))
        self.assertTrue(torch.equal(x, x.clone()))  # input untouched

    def test_scale_augment_zooms_image_and_mask_together(self):
        x = torch.zeros(1, 1, 64, 64)
        x[0, 0, 24:40, 24:40] = 1.0
        m = (x > 0.5).to(torch.uint8)
        zx, zm = scale_augment(x, m, np.random.default_rng(3), 1.0, 0.5)
        self.assertEqual(zm.dtype, torch.uint8)
        area = int(zm.sum())
        self.assertNotEqual(area, 256)  # zoomed in or out
        self.assertLess(abs(int((zx > 0.5).sum()) - area), 0.1 * area)  # the mask follows the image
        same_x, same_m = scale_augment(x, m, np.random.default_rng(3), 0.0, 0.5)
        self.assertTrue(torch.equal(same_m, m))

    def test_weight_average_starts_at_the_parent_and_moves_by_one_minus_decay(self):
        model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 1), torch.nn.BatchNorm2d(2))
        parent = {k: v.clone() for k, v in model.state_dict().items()}
        avg = WeightAverage(model, 0.9)
        with torch.no_grad():
            model[0].weight.add_(1.0)
        model[1].num_batches_tracked += 5
        avg.update(model)
        self.assertTrue(torch.allclose(avg.shadow["0.weight"], parent["0.weight"] + 0.1))
        self.assertEqual(int(avg.shadow["1.num_batches_tracked"]), 5)  # integers are copied
        live = avg.swap(model)
        self.assertTrue(torch.allclose(model[0].weight, parent["0.weight"] + 0.1))
        model.load_state_dict(live)
        self.assertTrue(torch.allclose(model[0].weight, parent["0.weight"] + 1.0))
        with self.assertRaises(ValueError):
            WeightAverage(model, 1.0)

    def test_mirror_only_keeps_depth_down(self):
        from lgms_trainer.data import augment
        x = torch.arange(16, dtype=torch.float32).view(1, 1, 4, 4).repeat(32, 1, 1, 1)
        m = (x > 7).to(torch.uint8)
        xa, ma = augment(x, m, np.random.default_rng(0), mirror_only=True)
        rows = xa[:, 0].sort(dim=-1).values  # each row keeps its values: only left-right mirrored
        self.assertTrue(torch.equal(rows, x[:, 0]))
        self.assertTrue(any(not torch.equal(xa[i], x[i]) for i in range(32)))  # some were mirrored
        self.assertTrue(torch.equal(ma, (xa > 7).to(torch.uint8)))
        xr, _ = augment(x, m, np.random.default_rng(0))
        self.assertFalse(torch.equal(xr[:, 0].sort(dim=-1).values, x[:, 0]))  # the authors' rotations move rows

    def test_no_flip_keeps_the_sides_of_lateral_labels_in_2d(self):
        from lgms_trainer.data import augment
        # A right kidney (1) on the image's left half, a left kidney (2) on its right half, as an axial CT shows them.
        m = torch.zeros((32, 1, 8, 8), dtype=torch.uint8)
        m[..., :4], m[..., 4:] = 1, 2
        x = m.float() / 2
        for mirror_only in (False, True):
            _, moved = augment(x, m, np.random.default_rng(0), mirror_only=mirror_only)
            self.assertTrue(any(not torch.equal(moved[i], m[i]) for i in range(32)))  # mirrored: the kidneys swap sides
            rng = np.random.default_rng(0)
            xa, ma = augment(x, m, rng, mirror_only=mirror_only, flip=False)
            self.assertTrue(torch.equal(xa, x) and torch.equal(ma, m))  # every image as it was
        self.assertEqual(Recipe(no_flip=True, mirror_only=True).describe(), "no flips or turns")

    def test_validation_interval(self):
        self.assertEqual(validation_interval(3, 2), 3)
        self.assertEqual(validation_interval(None, 2), 10)  # 16 images, batch 8: every 20 steps
        self.assertEqual(validation_interval(None, 50), 1)


class FineTuneCli(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        base = fixtures.make_dataset(os.path.join(cls.tmp, "base"), n=6, seed=1)
        cls.parent = os.path.join(cls.tmp, "parent")
        rc, _, err = fixtures.run_cli("train", "--data", base, "--out", cls.parent, "--size", "64", "--max-steps", "2",
                                      "--batch-size", "2", "--id", "parent-model")
        assert rc == 0, err
        # Staged inputs: float32 (1, 64, 64) model inputs beside original-size masks.
        cls.staged = os.path.join(cls.tmp, "staged")
        src = fixtures.make_dataset(os.path.join(cls.tmp, "src"), n=4, seed=5)
        os.makedirs(os.path.join(cls.staged, "images"))
        shutil.copytree(os.path.join(src, "masks"), os.path.join(cls.staged, "masks"))
        rng = np.random.default_rng(0)
        for name in os.listdir(os.path.join(src, "images")):
            np.save(os.path.join(cls.staged, "images", name.replace(".png", ".npy")),
                    rng.random((1, 64, 64), dtype=np.float32))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_fine_tune_with_replay_anchor_and_frozen_norm(self):
        out = os.path.join(self.tmp, "child")
        rc, events, err = fixtures.run_cli(
            "train", "--data", self.staged, "--val-data", self.staged, "--init", self.parent, "--out", out,
            "--max-steps", "3", "--batch-size", "4", "--optimizer", "adamw", "--lr", "1e-4",
            "--replay", os.path.join(self.tmp, "base"), "--replay-fraction", "0.5", "--anchor", "0.01", "--freeze-norm",
            "--appearance", "0.5", "--zoom", "0.2", "--ema", "0.9", "--mirror-only")
        self.assertEqual(rc, 0, err)
        start = events[0]
        self.assertEqual(start["recipe"], "replay 0.5 of each batch, L2-SP anchor 0.01, batch-norm statistics frozen, "
                                          "appearance augmentation p=0.5, zoom ±0.2, weight average decay 0.9, "
                                          "left-right mirroring only")
        self.assertEqual((start["replayImages"], start["replayPerBatch"], start["stepsPerEpoch"]), (6, 2, 2))
        epoch = [e for e in events if e["event"] == "epoch"][-1]
        self.assertGreater(epoch["parentDistance"], 0)
        self.assertEqual(set(epoch) - {"event"}, {"epoch", "step", "valDice", "valIou", "valSensitivity", "valPrecision",
                                                  "valN", "bestDice", "bestEpoch", "parentDistance", "elapsedSeconds"})
        with open(os.path.join(out, "model.json")) as f:
            self.assertEqual(json.load(f)["parent"], "parent-model")

    def test_no_flip_reaches_a_2d_run(self):
        # What the app sends for a 2D task whose labels have a side (src/main/training/recipe.ts).
        out = os.path.join(self.tmp, "lateral")
        rc, events, err = fixtures.run_cli("train", "--data", self.staged, "--val-data", self.staged, "--init", self.parent,
                                           "--out", out, "--max-steps", "1", "--batch-size", "2", "--no-flip")
        self.assertEqual(rc, 0, err)
        self.assertEqual(events[0]["recipe"], "no flips or turns")

    def test_staged_input_of_the_wrong_shape_is_an_error_event(self):
        bad = os.path.join(self.tmp, "bad")
        shutil.copytree(self.staged, bad)
        first = sorted(os.listdir(os.path.join(bad, "images")))[0]
        np.save(os.path.join(bad, "images", first), np.zeros((1, 32, 32), dtype=np.float32))
        rc, events, _ = fixtures.run_cli("train", "--data", bad, "--val-data", self.staged, "--init", self.parent,
                                         "--out", os.path.join(self.tmp, "x"), "--max-steps", "1")
        self.assertEqual(rc, 1)
        self.assertIn("staged input must be float32 (1, 64, 64)", events[-1]["message"])


if __name__ == "__main__":
    unittest.main()
