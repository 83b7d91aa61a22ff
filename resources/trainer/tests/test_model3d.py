"""3D LGMSNet: parameter counts per part (docs/model-card.md, "3D LGMSNet"), MACs, the 2×2×2
patch fold, the volume group norm, and ONNX export with onnxruntime-node parity (the runtime the
app uses) at two shapes, so batch, depth, height and width are shown dynamic.

The model here is the authors' configuration, random-initialised and seeded, at the smallest
patch it accepts (32³): a forward pass takes about a second on 2 idle cores."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

import fixtures
import torch

from lgms_trainer.blocks import DepthwiseConv3d, StableGroupNorm, fold_patches_3d, unfold_patches_3d
from lgms_trainer.complexity import count_macs
from lgms_trainer.export import OPSET, export_onnx, write_onnx
from lgms_trainer.model import (DEPTHS_3D, EXPECTED_PARAMETERS, EXPECTED_PARAMETERS_3D, build_model,
                                build_model_3d, count_parameters, part_parameters)
from lgms_trainer.reference import reference_input, write_reference

try:
    import onnx
except ImportError:
    onnx = None

NODE_ORT = os.path.join(fixtures.TRAINER_DIR, "..", "..", "node_modules", "onnxruntime-node")
HAS_NODE_ORT = bool(shutil.which("node")) and os.path.isdir(NODE_ORT)

# The table of docs/model-card.md, "3D LGMSNet" (in 1, 14 classes).
DOC_PARTS_3D = {"stem": 480, "enc1": 7064, "enc2": 7352, "enc3": 53584, "enc4": 981824, "enc5": 1424192,
                "up5": 442752, "dec5": 2308928, "up4": 221376, "fuse4": 271680, "dec4": 359840,
                "up3": 55392, "fuse3": 68256, "up2": 13872, "fuse2": 17232, "head": 238}


def _model_3d(classes=3):
    torch.manual_seed(0)
    m = build_model_3d(1, classes)
    # Non-trivial BatchNorm statistics so that the comparison exercises every layer.
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm3d):
                mod.running_mean.uniform_(-0.2, 0.2)
                mod.running_var.uniform_(0.5, 1.5)
        # A random head gives logits of ~0.1; scaled, they are as large as a trained model's
        # (~10), so that the 1e-4 bound is as strict as it is on the 2D starter.
        m.head.weight.mul_(100)
    return m.eval()


class ParameterCounts3D(unittest.TestCase):
    def test_total_and_parts(self):
        m = build_model_3d(1, 14)
        self.assertEqual(count_parameters(m), EXPECTED_PARAMETERS_3D)
        self.assertEqual(EXPECTED_PARAMETERS_3D, 6_234_062)
        parts = part_parameters(m)
        self.assertEqual(parts, DOC_PARTS_3D)
        self.assertEqual(sum(parts.values()), EXPECTED_PARAMETERS_3D)  # no parameter outside the table

    def test_depths_and_2d_untouched(self):
        m = build_model_3d(1, 14)
        self.assertEqual(m.depths, DEPTHS_3D)
        self.assertEqual(m.dims, 3)
        # enc3 = three LMS(32) blocks, then the PW 32→64 transition.
        self.assertEqual([type(b).__name__ for b in m.enc3], ["LMS", "LMS", "LMS", "Sequential"])
        self.assertIsInstance(m.enc1[0].dw[3], torch.nn.Conv3d)
        self.assertEqual(m.enc1[0].dw[3].kernel_size, (9, 9, 9))
        # The 2D network keeps its count and its parameter names (the shipped weights load).
        m2 = build_model(3, 1)
        self.assertEqual(count_parameters(m2), EXPECTED_PARAMETERS)
        self.assertEqual(m2.dims, 2)
        self.assertIn("enc3.1.0.weight", m2.state_dict())
        self.assertIn("enc4.inp.0.0.weight", m2.state_dict())

    def test_classes_and_channels(self):
        # Only the stem's first conv (27 weights per input channel and output) and the head change.
        delta = 16 * 27 + (16 * 3 + 3) - (16 * 14 + 14)
        self.assertEqual(count_parameters(build_model_3d(2, 3)), EXPECTED_PARAMETERS_3D + delta)


class Complexity(unittest.TestCase):
    def test_counter_gives_the_documented_2d_figures(self):
        # shared/docs/lgmsnet.md: 4.49 G in convolutions, 0.22 G linear, 0.30 G attention at 256².
        macs = count_macs(build_model(3, 1), (1, 3, 256, 256))
        self.assertEqual(round(macs["conv"] / 1e9, 2), 4.49)
        self.assertEqual(round(macs["linear"] / 1e9, 2), 0.22)
        self.assertEqual(round(macs["attention"] / 1e9, 2), 0.30)
        self.assertEqual(round(macs["total"] / 1e9, 1), 5.0)

    def test_3d_at_32(self):
        # docs/model-card.md records these (and 96³, the authors' patch, from the same counter).
        macs = count_macs(build_model_3d(1, 14), (1, 1, 32, 32, 32))
        self.assertEqual(macs, {"conv": 2_483_215_360, "linear": 17_793_024, "attention": 2_163_200,
                                "total": 2_503_171_584})


class PatchFold3D(unittest.TestCase):
    def test_unfold_fold(self):
        x = torch.arange(2 * 3 * 4 * 6 * 2, dtype=torch.float32).reshape(2, 3, 4, 6, 2)
        t = unfold_patches_3d(x)
        self.assertEqual(tuple(t.shape), (2, 8, 2 * 3 * 1, 3))
        # Sequence p = 4i + 2j + k holds voxel (2a+i, 2b+j, 2c+k) of token (a·H/2 + b)·W/2 + c.
        # p = 5 → i=1, j=0, k=1; token 4 → a=1, b=1, c=0 → voxel (3, 2, 1).
        self.assertEqual(t[1, 5, 4, 2].item(), x[1, 2, 3, 2, 1].item())
        # p = 2 → i=0, j=1, k=0; token 2 → a=0, b=2, c=0 → voxel (0, 5, 0).
        self.assertEqual(t[0, 2, 2, 1].item(), x[0, 1, 0, 5, 0].item())
        self.assertTrue(torch.equal(fold_patches_3d(t, 4, 6, 2), x))


class VolumeGroupNorm(unittest.TestCase):
    def test_staged_form_matches_group_norm(self):
        torch.manual_seed(0)
        x = torch.randn(2, 16, 6, 10, 8) * 3 + 5
        ref = torch.nn.GroupNorm(4, 16)
        torch.nn.init.normal_(ref.weight)
        torch.nn.init.normal_(ref.bias)
        stable = StableGroupNorm(4, 16)
        stable.load_state_dict(ref.state_dict())
        self.assertLess((stable.eval()(x) - ref(x)).abs().max().item(), 1e-5)
        self.assertLess((stable.train()(x) - ref(x)).abs().max().item(), 1e-5)


class DepthwiseFFT(unittest.TestCase):
    """The LMS block's depthwise kernels train through the FFT (blocks.depthwise_conv3d_fft):
    the same output and gradients as the direct Conv3d, on odd sizes (FFT sizes padded up) and
    every kernel size the block uses; evaluation keeps the direct convolution."""

    def test_fft_matches_direct_convolution(self):
        for k in (3, 5, 7, 9):
            torch.manual_seed(k)
            conv = DepthwiseConv3d(3, k)
            x = torch.randn(2, 3, 7, 10, 12)
            grads = []
            for fft in (True, False):
                DepthwiseConv3d.fft_in_training = fft
                try:
                    conv.zero_grad()
                    xx = x.clone().requires_grad_()
                    y = conv.train()(xx)
                    (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
                    grads.append((y.detach(), xx.grad, conv.weight.grad.clone(), conv.bias.grad.clone()))
                finally:
                    DepthwiseConv3d.fft_in_training = True
            for a, b in zip(*grads):
                self.assertEqual(a.shape, b.shape)
                self.assertLess((a - b).abs().max().item(), 2e-5 * max(1.0, b.abs().max().item()), f"k={k}")
            direct = torch.nn.functional.conv3d(x, conv.weight, conv.bias, padding=k // 2, groups=3)
            self.assertTrue(torch.equal(conv.eval()(x), direct))

    def test_state_dict_names_unchanged(self):
        self.assertEqual(sorted(DepthwiseConv3d(4, 9).state_dict()), ["bias", "weight"])


class Export3D(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        cls.model = _model_3d()
        cls.path = os.path.join(cls.tmp, "model3d.onnx")
        export_onnx(cls.model, cls.path, (32, 32, 32))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp)

    def test_size_checks(self):
        with self.assertRaises(ValueError):
            write_onnx(self.model, os.path.join(self.tmp, "x.onnx"), (32, 32))  # a 3D model needs D, H, W
        with self.assertRaises(ValueError):
            write_onnx(self.model, os.path.join(self.tmp, "x.onnx"), (32, 48, 32))
        self.assertEqual(fixtures.leftover_temps(self.tmp), [])

    def test_reference_input_3d(self):
        import math
        x = reference_input((2, 1, 3, 4, 5))
        n, c, d, h, w = 1, 0, 2, 3, 1
        expected = (math.sin(0.05 * (h + 1) * (c + 1) + 0.07 * (w + 1) * (n + 1) + 0.09 * (d + 1))
                    * math.cos(0.031 * (h - w)))
        self.assertAlmostEqual(float(x[n, c, d, h, w]), expected, places=6)

    @unittest.skipIf(onnx is None, "onnx package not installed")
    def test_graph_interface(self):
        g = onnx.load(self.path)
        onnx.checker.check_model(g)
        self.assertEqual([o.version for o in g.opset_import if o.domain in ("", "ai.onnx")], [OPSET])
        dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
        self.assertEqual(dims(g.graph.input[0]), ["batch", 1, "depth", "height", "width"])
        self.assertEqual(dims(g.graph.output[0]), ["batch", 3, "depth", "height", "width"])

    @unittest.skipUnless(HAS_NODE_ORT, "node + onnxruntime-node absent")
    def test_node_runtime_parity(self):
        script = os.path.join(os.path.dirname(__file__), "ort_parity.cjs")
        # Another batch and other spatial sizes than the traced 1×32³: all four axes are dynamic.
        for shape in [(2, 1, 32, 32, 32), (1, 1, 32, 64, 32)]:
            ref = os.path.join(self.tmp, "ref3d.bin")
            write_reference(self.model, shape, ref)
            out = subprocess.run(["node", script, os.path.abspath(NODE_ORT), self.path, ref],
                                 capture_output=True, text=True, timeout=300)
            self.assertEqual(out.returncode, 0, out.stderr)
            result = json.loads(out.stdout)
            self.assertEqual(result["shape"], [shape[0], 3, *shape[2:]])
            print(f"3D parity {shape}: max |onnxruntime − PyTorch| = {result['maxAbsDiff']:.2e}"
                  f" (max |logit| {result['maxAbsRef']:.2f})")
            self.assertLessEqual(result["maxAbsDiff"], 1e-4)


if __name__ == "__main__":
    unittest.main()
