"""`reference` file format and content (read by the TypeScript parity test)."""

import json
import math
import os
import struct
import tempfile
import unittest

import fixtures
import numpy as np
import torch

from lgms_trainer.model import build_model
from lgms_trainer.package import load_model, save_weights
from lgms_trainer.reference import decode, reference_input


class Reference(unittest.TestCase):
    def test_formula(self):
        x = reference_input((2, 3, 4, 5))
        self.assertEqual(x.dtype, np.float32)
        n, c, h, w = 1, 2, 3, 0
        expected = math.sin(0.05 * (h + 1) * (c + 1) + 0.07 * (w + 1) * (n + 1)) * math.cos(0.031 * (h - w))
        self.assertEqual(float(x[n, c, h, w]), float(np.float32(expected)))

    def test_cli_file_layout(self):
        with tempfile.TemporaryDirectory() as d:
            torch.manual_seed(0)
            save_weights(os.path.join(d, "weights.pt"), build_model())
            out = os.path.join(d, "ref.bin")
            rc, events, err = fixtures.run_cli("reference", "--model", d, "--shape", "2,3,64,96", "--out", out)
            self.assertEqual(rc, 0, err)
            self.assertEqual(fixtures.leftover_temps(d), [])
            with open(out, "rb") as f:
                blob = f.read()
            (length,) = struct.unpack("<I", blob[:4])
            header = json.loads(blob[4:4 + length].decode("utf-8"))
            self.assertEqual(header, {"inputShape": [2, 3, 64, 96], "outputShape": [2, 1, 64, 96]})
            self.assertEqual(len(blob), 4 + length + 4 * (2 * 3 * 64 * 96 + 2 * 64 * 96))
            _, x, y = decode(blob)
            np.testing.assert_array_equal(x, reference_input((2, 3, 64, 96)))
            model, _ = load_model(d)
            with torch.no_grad():
                expected = model(torch.from_numpy(x.copy())).numpy()
            np.testing.assert_allclose(y, expected, atol=1e-5)
            self.assertEqual(events[-1]["outputShape"], [2, 1, 64, 96])


if __name__ == "__main__":
    unittest.main()
