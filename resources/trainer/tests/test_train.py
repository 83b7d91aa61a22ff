"""`train` end to end through the command line: loss goes down, the package is complete and
valid, nothing temporary is left, cancellation leaves nothing behind, fine-tuning records its parent."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

import fixtures

from lgms_trainer.model import EXPECTED_PARAMETERS

PACKAGE_FILES = {"model.json", "model.onnx", "weights.pt", "split.json"}


class Train(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.data = fixtures.make_dataset(os.path.join(cls.tmp, "data"), n=10)
        cls.out = os.path.join(cls.tmp, "model")
        cls.rc, cls.events, cls.err = fixtures.run_cli(
            "train", "--data", cls.data, "--out", cls.out, "--size", "64", "--max-steps", "16",
            "--batch-size", "4", "--optimizer", "adamw", "--lr", "0.003", "--seed", "3",
            "--name", "Test model", "--labels", "lesion")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_events_and_loss_decrease(self):
        self.assertEqual(self.rc, 0, self.err)
        kinds = [e["event"] for e in self.events]
        self.assertEqual(kinds[0], "start")
        self.assertEqual(kinds[-1], "done")
        self.assertIn("epoch", kinds)
        losses = [e["loss"] for e in self.events if e["event"] == "step"]
        self.assertEqual(len(losses), 16)
        self.assertLess(sum(losses[-4:]) / 4, sum(losses[:4]) / 4)
        steps = [e for e in self.events if e["event"] == "step"]
        self.assertTrue(all(e["lr"] > 0 and e["etaSeconds"] >= 0 for e in steps))
        self.assertEqual(self.events[-1]["out"], os.path.abspath(self.out))

    def test_package_is_complete_and_atomic(self):
        self.assertEqual(set(os.listdir(self.out)), PACKAGE_FILES)
        self.assertEqual(fixtures.leftover_temps(self.out), [])

    def test_model_json(self):
        with open(os.path.join(self.out, "model.json")) as f:
            m = json.load(f)
        self.assertEqual(m["format"], "lgms-model/1")
        self.assertIsNone(m["parent"])
        self.assertEqual(m["name"], "Test model")
        self.assertEqual(m["architecture"], {"name": "LGMSNet", "inChannels": 3, "classes": 1,
                                             "parameters": EXPECTED_PARAMETERS})
        self.assertEqual(m["input"]["size"], [64, 64])
        self.assertEqual(m["input"]["channelMode"], "replicate")
        self.assertEqual(m["input"]["normalization"], {"type": "scale", "min": 0, "max": 255})
        self.assertEqual(m["output"]["labels"], ["lesion"])
        self.assertEqual(m["files"], {"onnx": "model.onnx", "weights": "weights.pt"})
        self.assertEqual(m["training"]["steps"], 16)
        self.assertIn("--max-steps 16", m["training"]["command"])
        val = m["metrics"]["validation"]
        self.assertEqual(val["n"], 2)  # 20 % of 10 images
        self.assertEqual(val, self.events[-1]["metrics"]["validation"])
        with open(os.path.join(self.out, "split.json")) as f:
            split = json.load(f)
        self.assertEqual(len(split["train"]) + len(split["val"]), 10)

    def test_refuses_to_overwrite(self):
        rc, events, _ = fixtures.run_cli("train", "--data", self.data, "--out", self.out, "--max-steps", "1")
        self.assertEqual(rc, 1)
        self.assertEqual(events[-1]["event"], "error")

    def test_fine_tune_records_parent(self):
        out = os.path.join(self.tmp, "child")
        val = fixtures.make_dataset(os.path.join(self.tmp, "val"), n=3, seed=9, size=(48, 80))
        rc, events, err = fixtures.run_cli("train", "--data", self.data, "--val-data", val, "--init", self.out,
                                           "--out", out, "--max-steps", "2", "--batch-size", "4")
        self.assertEqual(rc, 0, err)
        with open(os.path.join(self.out, "model.json")) as f:
            parent = json.load(f)
        with open(os.path.join(out, "model.json")) as f:
            child = json.load(f)
        self.assertEqual(child["parent"], parent["id"])
        self.assertNotEqual(child["id"], parent["id"])
        self.assertEqual(child["input"]["size"], [64, 64])  # inherited from the parent
        self.assertEqual(child["metrics"]["validation"]["n"], 3)

    def test_cancel_leaves_nothing(self):
        out = os.path.join(self.tmp, "cancelled")
        proc = subprocess.Popen([sys.executable, "-m", "lgms_trainer", "train", "--data", self.data, "--out", out,
                                 "--size", "64", "--max-steps", "1000", "--batch-size", "2"],
                                cwd=fixtures.TRAINER_DIR, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True)
        try:
            events = []
            for line in proc.stdout:
                events.append(json.loads(line))
                if events[-1]["event"] == "step":
                    proc.send_signal(signal.SIGTERM)
                    break
            events += [json.loads(line) for line in proc.stdout]
            rc = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        self.assertEqual(events[-1]["event"], "cancelled")
        self.assertEqual(rc, 130)
        self.assertFalse(os.path.exists(out))

    def test_bad_data_is_an_error_event(self):
        rc, events, _ = fixtures.run_cli("train", "--data", os.path.join(self.tmp, "nowhere"),
                                         "--out", os.path.join(self.tmp, "x"), "--max-steps", "1")
        self.assertEqual(rc, 1)
        self.assertEqual(events[-1]["event"], "error")
        self.assertIn("images/ and masks/", events[-1]["message"])
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x")))


if __name__ == "__main__":
    unittest.main()
