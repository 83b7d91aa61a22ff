"""LGMSNet structure: parameter counts per part (lgmsnet.md), output shapes, patch fold."""

import unittest

import fixtures  # noqa: F401  (sets sys.path and thread count)
import torch

from lgms_trainer.blocks import fold_patches, unfold_patches
from lgms_trainer.model import EXPECTED_PARAMETERS, build_model, count_parameters, part_parameters

# Straight from the table in shared/docs/lgmsnet.md.
DOC_PARTS = {"stem": 480, "enc1": 1672, "enc2": 1960, "enc3": 6224, "enc4": 391424, "enc5": 538880,
             "up5": 147840, "dec5": 833792, "up4": 73920, "fuse4": 124224, "dec4": 138368,
             "up3": 18528, "fuse3": 31392, "up2": 4656, "fuse2": 8016, "head": 17}


class ParameterCounts(unittest.TestCase):
    def test_total(self):
        self.assertEqual(count_parameters(build_model(3, 1)), EXPECTED_PARAMETERS)
        self.assertEqual(EXPECTED_PARAMETERS, 2_321_393)

    def test_parts(self):
        parts = part_parameters(build_model(3, 1))
        for name, expected in DOC_PARTS.items():
            self.assertEqual(parts[name], expected, name)
        self.assertEqual(sum(parts.values()), EXPECTED_PARAMETERS)  # no parameter outside the table

    def test_configurable_channels_and_classes(self):
        m = build_model(in_channels=1, classes=3)
        # Only the stem's first conv and the head depend on them.
        delta = -2 * 16 * 9 + (16 * 3 + 3) - 17
        self.assertEqual(count_parameters(m), EXPECTED_PARAMETERS + delta)


class Shapes(unittest.TestCase):
    def test_output_shapes(self):
        m = build_model().eval()
        with torch.no_grad():
            self.assertEqual(tuple(m(torch.randn(1, 3, 64, 64)).shape), (1, 1, 64, 64))
            self.assertEqual(tuple(m(torch.randn(2, 3, 96, 128)).shape), (2, 1, 96, 128))
        m2 = build_model(1, 2).eval()
        with torch.no_grad():
            self.assertEqual(tuple(m2(torch.randn(1, 1, 64, 96)).shape), (1, 2, 64, 96))

    def test_patch_unfold_fold(self):
        x = torch.arange(2 * 3 * 4 * 6, dtype=torch.float32).reshape(2, 3, 4, 6)
        t = unfold_patches(x)
        self.assertEqual(tuple(t.shape), (2, 4, 6, 3))
        # Sequence p = 2·i + j holds pixel (2a + i, 2b + j) of token a·(W/2) + b.
        self.assertEqual(t[1, 3, 4, 2].item(), x[1, 2, 3, 3].item())  # p=3 → i=j=1; token 4 → a=1, b=1
        self.assertEqual(t[0, 1, 2, 0].item(), x[0, 0, 0, 5].item())  # p=1 → i=0, j=1; token 2 → a=0, b=2
        self.assertTrue(torch.equal(fold_patches(t, 4, 6), x))


if __name__ == "__main__":
    unittest.main()


class StableGroupNormTest(unittest.TestCase):
    def test_matches_group_norm(self):
        import torch
        from lgms_trainer.blocks import StableGroupNorm

        torch.manual_seed(0)
        x = torch.randn(2, 16, 40, 24) * 3 + 5
        ref = torch.nn.GroupNorm(4, 16)
        torch.nn.init.normal_(ref.weight)
        torch.nn.init.normal_(ref.bias)
        stable = StableGroupNorm(4, 16)
        stable.load_state_dict(ref.state_dict())
        self.assertLess((stable(x) - ref(x)).abs().max().item(), 1e-5)

    def test_training_form_equals_staged_form_with_gradients(self):
        # Training runs the fused group norm, evaluation and export the staged one: both must
        # give the same output and the same gradients, or a fine-tune would learn another model.
        import torch
        from lgms_trainer.blocks import StableGroupNorm

        torch.manual_seed(1)
        norm = StableGroupNorm(4, 16)
        torch.nn.init.normal_(norm.weight)
        torch.nn.init.normal_(norm.bias)
        x = torch.randn(2, 16, 32, 32) * 2 + 1
        results = []
        for fused in (True, False):
            StableGroupNorm.fused_in_training = fused
            try:
                xi = x.clone().requires_grad_(True)
                norm.zero_grad()
                out = norm.train()(xi)
                (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
                results.append((out.detach(), xi.grad, norm.weight.grad.clone(), norm.bias.grad.clone()))
            finally:
                StableGroupNorm.fused_in_training = True
        for a, b in zip(*results):  # weight and bias gradients sum 4,096 float32 terms: relative tolerance
            self.assertLess((a - b).abs().max().item(), 1e-5 + 1e-4 * b.abs().max().item())
        # Eval mode uses the staged form whatever the switch says (the export's and parity's form).
        self.assertLess((norm.eval()(x) - results[1][0]).abs().max().item(), 1e-5)
