"""ONNX export: names, opset, dynamic axes, nothing size-specific baked into the graph, and
(where a runtime exists) numerical agreement with PyTorch at two sizes and batch sizes."""

import os
import shutil
import subprocess
import tempfile
import unittest

import fixtures
import numpy as np
import torch

from lgms_trainer.export import OPSET, export_onnx, write_onnx
from lgms_trainer.model import build_model
from lgms_trainer.package import save_weights
from lgms_trainer.reference import write_reference

try:
    import onnx
except ImportError:  # the checker-based tests need the onnx package
    onnx = None

NODE_ORT = os.path.join(fixtures.TRAINER_DIR, "..", "..", "node_modules", "onnxruntime-node")


def _model(classes=1):
    torch.manual_seed(0)
    m = build_model(3, classes)
    # Non-trivial BatchNorm statistics so that the comparison exercises every layer.
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
    return m.eval()


class Export(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.model = _model()
        cls.path = os.path.join(cls.tmp, "model.onnx")
        export_onnx(cls.model, cls.path, (64, 64))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_atomic_no_temp_left(self):
        self.assertEqual(fixtures.leftover_temps(self.tmp), [])

    @unittest.skipIf(onnx is None, "onnx package not installed")
    def test_graph_interface(self):
        g = onnx.load(self.path)
        onnx.checker.check_model(g)
        self.assertEqual([o.version for o in g.opset_import if o.domain in ("", "ai.onnx")], [OPSET])
        self.assertEqual([i.name for i in g.graph.input], ["input"])
        self.assertEqual([o.name for o in g.graph.output], ["logits"])
        dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        self.assertEqual(dims(g.graph.input[0]), ["batch", 3, "height", "width"])
        self.assertEqual(dims(g.graph.output[0]), ["batch", 1, "height", "width"])

    @unittest.skipIf(onnx is None, "onnx package not installed")
    def test_no_size_baked_in(self):
        # Tracing at another size must give the very same graph: had a Python int from the
        # sample input been baked in, a Constant or a Reshape target would differ.
        other = os.path.join(self.tmp, "other.onnx")
        write_onnx(self.model, other, (96, 128))
        a, b = onnx.load(self.path).graph, onnx.load(other).graph
        self.assertEqual([n.SerializeToString() for n in a.node], [n.SerializeToString() for n in b.node])

    # Runtime parity is checked with onnxruntime-node, the runtime the app uses, below: Debian
    # packages no onnxruntime for Python, so a Python-side parity test could only ever skip.

    @unittest.skipUnless(shutil.which("node") and os.path.isdir(NODE_ORT), "node + onnxruntime-node absent")
    def test_node_runtime_parity_two_sizes(self):
        # The app runs models with onnxruntime-node; compare it with PyTorch on reference files.
        script = os.path.join(os.path.dirname(__file__), "ort_parity.cjs")
        for shape in [(1, 3, 64, 64), (2, 3, 96, 128)]:
            ref = os.path.join(self.tmp, "ref.bin")
            write_reference(self.model, shape, ref)
            out = subprocess.run(["node", script, os.path.abspath(NODE_ORT), self.path, ref],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            result = __import__("json").loads(out.stdout)
            self.assertEqual(result["shape"], list(shape[:1]) + [1] + list(shape[2:]))
            self.assertLess(result["maxAbsDiff"], 1e-4)

    @unittest.skipUnless(shutil.which("node") and os.path.isdir(NODE_ORT), "node + onnxruntime-node absent")
    def test_node_runtime_parity_multiclass(self):
        # A 5-class model (4 labels + background) keeps its class dimension through the export.
        model = _model(classes=5)
        path = os.path.join(self.tmp, "multi.onnx")
        export_onnx(model, path, (64, 64))
        script = os.path.join(os.path.dirname(__file__), "ort_parity.cjs")
        for shape in [(1, 3, 64, 64), (2, 3, 96, 128)]:
            ref = os.path.join(self.tmp, "ref-multi.bin")
            write_reference(model, shape, ref)
            out = subprocess.run(["node", script, os.path.abspath(NODE_ORT), path, ref],
                                 capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            result = __import__("json").loads(out.stdout)
            self.assertEqual(result["shape"], [shape[0], 5, shape[2], shape[3]])
            self.assertLess(result["maxAbsDiff"], 1e-4)

    def test_export_cli(self):
        folder = os.path.join(self.tmp, "pkg")
        os.makedirs(folder)
        save_weights(os.path.join(folder, "weights.pt"), self.model)
        rc, events, err = fixtures.run_cli("export", "--model", folder, "--size", "64")
        self.assertEqual(rc, 0, err)
        self.assertEqual(events[-1]["event"], "exported")
        self.assertTrue(os.path.exists(os.path.join(folder, "model.onnx")))
        self.assertEqual(fixtures.leftover_temps(folder), [])


if __name__ == "__main__":
    unittest.main()
