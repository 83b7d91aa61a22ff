"""Input preparation rules announced in model.json, pairing of files, seeded split; `info`."""

import os
import tempfile
import unittest

import fixtures
import numpy as np
import torch
from PIL import Image

from lgms_trainer.data import (DataError, detect_channel_mode, letterbox, letterbox_geometry, list_pairs,
                               normalize, parse_normalization, prepare_image, split_pairs)


class Normalization(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(parse_normalization("scale:0,255"), {"type": "scale", "min": 0, "max": 255})
        self.assertEqual(parse_normalization("window:40,400"), {"type": "window", "center": 40, "width": 400})
        self.assertEqual(parse_normalization("percentile"), {"type": "percentile", "low": 0.5, "high": 99.5})
        with self.assertRaises(DataError):
            parse_normalization("zscore")

    def test_rules_map_to_unit_range(self):
        x = np.array([[[-200.0], [40.0], [240.0], [300.0]]], np.float32)
        w = normalize(x, {"type": "window", "center": 40, "width": 400}).ravel()
        np.testing.assert_allclose(w, [0.0, 0.5, 1.0, 1.0])  # (x − (c − w/2)) / w, clipped
        s = normalize(np.array([0.0, 51.0, 255.0], np.float32), {"type": "scale", "min": 0, "max": 255})
        np.testing.assert_allclose(s, [0.0, 0.2, 1.0])
        p = normalize(np.arange(1001, dtype=np.float32), {"type": "percentile", "low": 10, "high": 90})
        self.assertEqual((p.min(), p.max()), (0.0, 1.0))
        self.assertAlmostEqual(float(p[500]), 0.5, places=5)


class Letterbox(unittest.TestCase):
    def test_geometry_and_padding(self):
        self.assertEqual(letterbox_geometry(48, 80, (64, 64)), (38, 64, 13, 0))
        out = letterbox(torch.ones(1, 48, 80), (64, 64), "bilinear")
        self.assertEqual(tuple(out.shape), (1, 64, 64))
        self.assertEqual(out[0, :13].abs().sum().item(), 0.0)
        self.assertEqual(out[0, 13:51].min().item(), 1.0)
        self.assertEqual(out[0, 51:].abs().sum().item(), 0.0)

    def test_gray_is_replicated_to_three_channels(self):
        spec = {"size": (64, 64), "channelMode": "replicate",
                "normalization": {"type": "scale", "min": 0, "max": 255}}
        x = prepare_image(np.full((64, 64, 1), 255.0, np.float32), spec, 3)
        self.assertEqual(tuple(x.shape), (3, 64, 64))
        self.assertEqual(x.min().item(), 1.0)


class Folders(unittest.TestCase):
    def test_pairs_suffixes_and_missing(self):
        with tempfile.TemporaryDirectory() as d:
            for sub in ("images", "masks"):
                os.makedirs(os.path.join(d, sub))
            img = Image.fromarray(np.zeros((8, 8), np.uint8))
            img.save(os.path.join(d, "images", "a.png"))
            img.save(os.path.join(d, "masks", "a.png"))
            img.save(os.path.join(d, "images", "b.jpg"))
            img.save(os.path.join(d, "masks", "b_segmentation.png"))
            self.assertEqual([p[0] for p in list_pairs(d)], ["a.png", "b.jpg"])
            img.save(os.path.join(d, "images", "c.png"))
            with self.assertRaises(DataError):
                list_pairs(d)

    def test_channel_mode_detection(self):
        with tempfile.TemporaryDirectory() as d:
            gray = fixtures.make_dataset(os.path.join(d, "g"), n=1)
            color = fixtures.make_dataset(os.path.join(d, "c"), n=1, color=True)
            self.assertEqual(detect_channel_mode([p[1] for p in list_pairs(gray)]), "replicate")
            self.assertEqual(detect_channel_mode([p[1] for p in list_pairs(color)]), "rgb")

    def test_split_is_seeded(self):
        pairs = [(f"{i}.png", "", "") for i in range(20)]
        a, b = split_pairs(pairs, 0.2, 7), split_pairs(pairs, 0.2, 7)
        self.assertEqual(a, b)
        self.assertEqual((len(a[0]), len(a[1])), (16, 4))
        self.assertNotEqual(split_pairs(pairs, 0.2, 8)[1], a[1])


class Info(unittest.TestCase):
    def test_info(self):
        rc, events, err = fixtures.run_cli("info")
        self.assertEqual(rc, 0, err)
        info = events[-1]
        self.assertEqual(info["parameters"], 2_321_393)
        self.assertEqual(info["torch"], torch.__version__)
        self.assertIn(info["device"], ("cuda", "mps", "cpu"))
        self.assertEqual(info["trainerVersion"], "0.1.0")


if __name__ == "__main__":
    unittest.main()
