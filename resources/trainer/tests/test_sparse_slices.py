"""DiceCE on sparsely labelled volumes: only the labelled slices count; unlabelled slices are
neither background nor anything else (issue #25, "Training from sparse slices")."""

import unittest

import fixtures  # noqa: F401  (sets sys.path and thread count)
import torch

from lgms_trainer.labels import IGNORE_INDEX
from lgms_trainer.metrics import dice_ce_loss, sparse_slice_dice_ce_loss

CLASSES = 4


def _volume_batch(seed=0):
    """Logits (2, 4, 8, 6, 5), labels 0..3, and every 3rd slice labelled (plus slice 7 of volume 1)."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(2, CLASSES, 8, 6, 5, generator=g) * 2
    target = torch.randint(0, CLASSES, (2, 8, 6, 5), generator=g)
    labelled = torch.zeros(2, 8, dtype=torch.bool)
    labelled[:, ::3] = True
    labelled[1, 7] = True
    return logits, target, labelled


def _loss_and_grad(logits, target, labelled):
    x = logits.clone().requires_grad_(True)
    loss = sparse_slice_dice_ce_loss(x, target, labelled)
    loss.backward()
    return loss.detach(), x.grad


class SparseSliceLoss(unittest.TestCase):
    def test_unlabelled_slices_change_neither_loss_nor_gradient(self):
        logits, target, labelled = _volume_batch()
        loss, grad = _loss_and_grad(logits, target, labelled)
        # Other logits, and other (meaningless) target values, on every unlabelled slice.
        g = torch.Generator().manual_seed(1)
        un = ~labelled[:, None, :, None, None].expand_as(logits)
        other = torch.where(un, torch.randn(logits.shape, generator=g) * 20, logits)
        other_target = torch.where(un[:, 0], torch.randint(0, CLASSES, target.shape, generator=g), target)
        loss2, grad2 = _loss_and_grad(other, other_target, labelled)
        self.assertEqual(loss2.item(), loss.item())
        self.assertTrue(torch.equal(grad2, grad))
        # No gradient at all reaches an unlabelled slice's logits; the labelled ones do get one.
        self.assertEqual(grad[un].abs().max().item(), 0.0)
        self.assertGreater(grad[~un].abs().max().item(), 0.0)

    def test_unlabelled_is_not_background(self):
        # Reading unlabelled slices as background (label 0 everywhere there) gives another loss:
        # the loss above is not that.
        logits, target, labelled = _volume_batch()
        as_background = target.masked_fill(~labelled[:, :, None, None], 0)
        self.assertNotAlmostEqual(sparse_slice_dice_ce_loss(logits, target, labelled).item(),
                                  dice_ce_loss(logits, as_background).item(), places=3)

    def test_equals_dice_ce_on_the_labelled_slices(self):
        # Same as DiceCE over the labelled slices alone (batch Dice sums and CE mean over voxels).
        logits, target, labelled = _volume_batch()
        labelled[:] = False
        labelled[:, [0, 3, 6]] = True  # the same slices in both volumes, so they can be cut out
        expected = dice_ce_loss(logits[:, :, [0, 3, 6]], target[:, [0, 3, 6]])
        got = sparse_slice_dice_ce_loss(logits, target.unsqueeze(1), labelled)  # (N, 1, D, H, W) target too
        self.assertAlmostEqual(got.item(), expected.item(), places=5)

    def test_volume_dice_ce_equals_flattened_2d(self):
        # dice_ce_loss on (N, C, D, H, W) is the 2D loss on the slices laid side by side.
        logits, target, _ = _volume_batch()
        target[0, 2, :3] = IGNORE_INDEX
        flat = dice_ce_loss(logits.reshape(2, CLASSES, 8 * 6, 5), target.reshape(2, 8 * 6, 5))
        self.assertAlmostEqual(dice_ce_loss(logits, target).item(), flat.item(), places=5)

    def test_ignored_pixels_inside_a_labelled_slice_stay_ignored(self):
        logits, target, labelled = _volume_batch()
        target[0, 0, :2] = IGNORE_INDEX  # part of a labelled slice the reader left open
        loss, grad = _loss_and_grad(logits, target, labelled)
        self.assertTrue(torch.isfinite(loss))
        self.assertEqual(grad[0, :, 0, :2].abs().max().item(), 0.0)

    def test_no_labelled_slice(self):
        logits, target, labelled = _volume_batch()
        loss, grad = _loss_and_grad(logits, target, torch.zeros_like(labelled))
        self.assertTrue(torch.isfinite(loss))
        self.assertEqual(grad.abs().max().item(), 0.0)

    def test_shape_errors(self):
        logits, target, labelled = _volume_batch()
        with self.assertRaises(ValueError):
            sparse_slice_dice_ce_loss(logits, target, labelled[:, :4])
        with self.assertRaises(ValueError):
            sparse_slice_dice_ce_loss(logits[:, :, 0], target[:, 0], labelled)


if __name__ == "__main__":
    unittest.main()
