# Copyright (c) mmwsss contributors. All rights reserved.
from pathlib import Path

import numpy as np
import pytest
import torch

from mmwsss.functional import (bbam_loss, bbam_stride, init_bbam_mask,
                               perturb_with_mask, tv_norm)
from mmwsss.testing import as_device_like, count_host_syncs

GOLDEN = Path(__file__).parents[2] / 'data' / 'bbam_pieces.npz'


@pytest.fixture(scope='module')
def golden():
    with np.load(GOLDEN) as data:
        return dict(data)


def _close(actual, expected, rtol=1e-5, atol=1e-6):
    expected = np.asarray(expected, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    scale = max(np.abs(expected).max(), 1.0) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale)


@pytest.mark.parametrize('k', range(3))
def test_tv_norm_golden(golden, k):
    mask = torch.tensor(golden[f'tv_mask_{k}'], requires_grad=True)
    beta = float(golden['tv_beta'])
    for diagonal in (0, 1):
        for summed in (0, 1):
            value = tv_norm(
                mask,
                beta=beta,
                diagonal=bool(diagonal),
                reduction='sum' if summed else 'mean')
            assert value.dim() == 0
            _close(value.item(), golden[f'tv_{k}_diag{diagonal}_sum{summed}'])
    tv_norm(mask, beta=beta).backward()
    _close(mask.grad.numpy(), golden[f'tv_{k}_diag1_sum1_grad'])
    # (h, w) input is the same mask.
    _close(
        tv_norm(mask.detach()[0], beta=beta).item(),
        golden[f'tv_{k}_diag1_sum1'])


def test_tv_norm_batch_and_edge_cases():
    masks = torch.rand(3, 1, 6, 5, generator=torch.Generator().manual_seed(0))
    values = tv_norm(masks)
    assert values.shape == (3, )
    for i in range(3):
        torch.testing.assert_close(values[i], tv_norm(masks[i]))
    # A one-row mask has no vertical or diagonal term: 0, not NaN.
    row = torch.tensor([[[0., 1., 0.]]])
    assert tv_norm(row, reduction='mean').item() == pytest.approx(1.0)
    assert tv_norm(row).item() == pytest.approx(2.0)
    with pytest.raises(ValueError, match='reduction'):
        tv_norm(row, reduction='max')
    with pytest.raises(ValueError, match='mask must be'):
        tv_norm(torch.zeros(2, 3, 3))


def test_bbam_stride(golden):
    for case in 'ABCD':
        assert bbam_stride(golden['target_box'],
                           golden['image_hw']) == pytest.approx(
                               float(golden[f'case{case}_mask_stride']),
                               rel=0,
                               abs=1e-12)
    assert bbam_stride([0, 0, 10, 10], (10, 10)) == 64
    assert bbam_stride([5, 5, 5, 9], (10, 10)) == 16
    with pytest.raises(ValueError, match='x1 >= x0'):
        bbam_stride([5, 5, 4, 9], (10, 10))
    with pytest.raises(ValueError, match='image_size'):
        bbam_stride([0, 0, 1, 1], (0, 10))


@pytest.mark.parametrize('case', 'ABCD')
def test_init_bbam_mask_golden(golden, case):
    idxs = golden[f'case{case}_positive_idxs']
    boxes = golden[f'case{case}_decoded_boxes'].reshape(-1, 21, 4)
    label = int(golden['target_label'])
    mask = init_bbam_mask(boxes[idxs, label], golden['image_hw'],
                          float(golden[f'case{case}_mask_stride']))
    assert mask.dtype == torch.float32
    expected = golden[f'case{case}_mask_init'].reshape(mask.shape)
    np.testing.assert_array_equal(mask.numpy(), expected)


def test_init_bbam_mask_clamps_and_unions():
    boxes = np.array([[-100., -5., 25., 15.], [30., 30., 90., 45.]])
    mask = init_bbam_mask(boxes, (50, 100), 10.0)
    expected = torch.zeros(1, 5, 10)
    expected[0, 0:1, 0:2] = 1  # negative coordinates clamp to the grid
    expected[0, 3:4, 3:9] = 1
    torch.testing.assert_close(mask, expected)
    # Tiny images still get one cell.
    assert init_bbam_mask(np.zeros((0, 4)), (10, 10), 16.0).shape == (1, 1, 1)
    with pytest.raises(ValueError, match='stride'):
        init_bbam_mask(boxes, (50, 100), 0.0)


def test_perturb_with_mask_golden(golden):
    image = golden['perturb_image_bgr255'].astype(np.float32)
    image = torch.from_numpy(
        (image - golden['pixel_mean_bgr']).transpose(2, 0, 1).copy())
    _close(image.numpy(), golden['perturb_input'])
    mask = torch.from_numpy(golden['perturb_mask'])
    out = perturb_with_mask(image, mask)
    assert out.shape == (3, 30, 40)
    _close(out.numpy(), golden['perturb_output'])
    # One image, a batch of masks.
    batch = perturb_with_mask(image, torch.stack([mask, 1 - mask]))
    assert batch.shape == (2, 3, 30, 40)
    torch.testing.assert_close(batch[0], out)
    torch.testing.assert_close(batch[1], image - out)
    with pytest.raises(ValueError, match='cannot be paired'):
        perturb_with_mask(image.expand(3, 3, 30, 40), batch[:, :1])


def _case_b_inputs(golden):
    c = int(golden['caseB_selected_c'])
    idxs = golden['caseB_positive_idxs']
    deltas = torch.from_numpy(golden['caseB_box_regression'][idxs,
                                                             4 * c:4 * c + 4])
    probs = torch.softmax(
        torch.from_numpy(golden['caseB_class_logits'][idxs]), dim=1)[:, c]
    deltas_p = torch.from_numpy(
        golden['caseB_perturbed_box_regression'][:, 4 * c:4 * c + 4])
    probs_p = torch.softmax(
        torch.from_numpy(golden['caseB_perturbed_class_logits']), dim=1)[:, c]
    return deltas, deltas_p, probs, probs_p


def test_bbam_loss_and_adam_step_golden(golden):
    deltas, deltas_p, probs, probs_p = _case_b_inputs(golden)
    mask = torch.tensor(golden['caseB_mask_before'], requires_grad=True)
    optimizer = torch.optim.Adam([mask], lr=float(golden['lr_mask']))
    loss = bbam_loss(
        deltas,
        deltas_p,
        probs,
        probs_p,
        mask,
        l1_coeff=float(golden['l1_coeff']),
        tv_coeff=float(golden['tv_coeff']),
        tv_beta=float(golden['tv_beta']))
    assert loss.dim() == 0
    _close(loss.item(), golden['caseB_loss'])
    loss.backward()
    _close(mask.grad.numpy(), golden['caseB_mask_grad'])
    optimizer.step()
    with torch.no_grad():
        mask.clamp_(0, 1)
    _close(mask.detach().numpy(), golden['caseB_mask_after_adam_clamp'])


def test_no_perturb_cls_probs_golden(golden):
    # The reference probabilities are the softmax over all 21 logits.
    for case in 'ABC':
        c = int(golden[f'case{case}_selected_c'])
        probs = torch.softmax(
            torch.from_numpy(golden[f'case{case}_class_logits']), dim=1)[:, c]
        _close(probs.numpy(), golden[f'case{case}_no_perturb_cls_probs'])


def _toy_detector(masks, weights):
    # A differentiable stand-in: each proposal reads the mean of its mask.
    return masks.flatten(1).mean(dim=1)[:, None] * weights


def test_bbam_loss_batched_gradients_equal_one_at_a_time():
    gen = torch.Generator().manual_seed(3)
    sizes = (3, 5, 1)
    masks = torch.rand(3, 1, 4, 6, generator=gen)
    weights = [torch.randn(n, 5, generator=gen) for n in sizes]
    deltas = [torch.randn(n, 4, generator=gen) for n in sizes]
    probs = [torch.rand(n, generator=gen) for n in sizes]

    single_grads, single_losses = [], []
    for i in range(3):
        mask = masks[i].clone().requires_grad_(True)
        out = _toy_detector(mask[None].expand(sizes[i], -1, -1, -1),
                            weights[i])
        loss = bbam_loss(deltas[i], out[:, :4], probs[i], out[:, 4], mask)
        loss.backward()
        single_grads.append(mask.grad)
        single_losses.append(loss.detach())

    batch = masks.clone().requires_grad_(True)
    index = torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))
    out = _toy_detector(batch[index], torch.cat(weights))
    args = (torch.cat(deltas), out[:, :4], torch.cat(probs), out[:, 4], batch)
    losses = bbam_loss(*args, mask_index=index, reduction='none')
    torch.testing.assert_close(losses, torch.stack(single_losses))
    total = bbam_loss(*args, mask_index=index)
    torch.testing.assert_close(total, losses.sum())
    total.backward()
    for i in range(3):
        torch.testing.assert_close(
            batch.grad[i], single_grads[i], rtol=0, atol=1e-8)


def test_bbam_loss_masks_of_different_sizes():
    # Objects of different strides have masks of different sizes: a list of
    # masks gives each its own loss and its own one-at-a-time gradient.
    gen = torch.Generator().manual_seed(4)
    shapes = ((1, 3, 4), (1, 5, 2))
    masks = [torch.rand(s, generator=gen) for s in shapes]
    deltas = torch.randn(5, 4, generator=gen)
    probs = torch.rand(5, generator=gen)
    index = torch.tensor([0, 0, 1, 1, 1])
    scale = torch.randn(5, 5, generator=gen)

    def detector(ms):
        return torch.stack([m.mean() for m in ms])[index][:, None] * scale

    leaves = [m.clone().requires_grad_(True) for m in masks]
    out = detector(leaves)
    losses = bbam_loss(
        deltas,
        out[:, :4],
        probs,
        out[:, 4],
        leaves,
        mask_index=index,
        reduction='none')
    losses.sum().backward()
    for i, (start, stop) in enumerate(((0, 2), (2, 5))):
        mask = masks[i].clone().requires_grad_(True)
        out_i = (mask.mean() * scale[start:stop])
        loss = bbam_loss(deltas[start:stop], out_i[:, :4], probs[start:stop],
                         out_i[:, 4], mask)
        loss.backward()
        torch.testing.assert_close(losses[i], loss.detach())
        torch.testing.assert_close(
            leaves[i].grad, mask.grad, rtol=0, atol=1e-8)

    image = torch.randn(3, 12, 16, generator=gen)
    perturbed = perturb_with_mask(image, masks)
    assert perturbed.shape == (2, 3, 12, 16)
    for i in range(2):
        torch.testing.assert_close(perturbed[i],
                                   perturb_with_mask(image, masks[i]))
    with pytest.raises(ValueError, match='at least one mask'):
        bbam_loss(deltas, deltas, probs, probs, [])
    with pytest.raises(ValueError, match=r'mask\[1\] must be'):
        perturb_with_mask(image, [masks[0], torch.zeros(2, 3, 3)])


def test_bbam_loss_head_weights_and_validation():
    deltas = torch.zeros(2, 4)
    probs = torch.ones(2)
    mask = torch.zeros(1, 2, 2)
    box_only = bbam_loss(
        deltas, deltas + 1, probs, probs - 1, mask, cls_weight=0.0)
    cls_only = bbam_loss(
        deltas, deltas + 1, probs, probs - 1, mask, box_weight=0.0)
    assert box_only.item() == pytest.approx(0.5)
    assert cls_only.item() == pytest.approx(0.5)
    with pytest.raises(ValueError, match='deltas must be'):
        bbam_loss(deltas[:0], deltas[:0], probs[:0], probs[:0], mask)
    with pytest.raises(ValueError, match='probs_perturbed'):
        bbam_loss(deltas, deltas, probs, probs[:1], mask)
    masks = torch.zeros(2, 1, 2, 2)
    with pytest.raises(ValueError, match='mask_index is required'):
        bbam_loss(deltas, deltas, probs, probs, masks)
    with pytest.raises(ValueError, match='at least one proposal'):
        bbam_loss(
            deltas,
            deltas,
            probs,
            probs,
            masks,
            mask_index=torch.tensor([0, 0]))
    with pytest.raises(ValueError, match='mask_index must be'):
        bbam_loss(
            deltas,
            deltas,
            probs,
            probs,
            masks,
            mask_index=torch.tensor([0, 2]))
    with pytest.raises(ValueError, match='reduction'):
        bbam_loss(deltas, deltas, probs, probs, mask, reduction='mean')


def test_bbam_loss_with_mask_counts_reads_nothing_on_the_host():
    gen = torch.Generator().manual_seed(5)
    masks = [torch.rand(1, 3, 4, generator=gen), torch.rand(1, 5, 2,
                                                             generator=gen)]
    deltas = torch.randn(2, 5, 4, generator=gen)
    probs = torch.rand(2, 5, generator=gen)
    index = torch.tensor([0, 1, 1, 0, 1])
    args = (deltas[0], deltas[1], probs[0], probs[1], masks)
    checked = bbam_loss(*args, mask_index=index, reduction='none')
    device_args = as_device_like(args)
    with count_host_syncs() as syncs:
        trusted = bbam_loss(
            *device_args,
            mask_index=as_device_like(index),
            mask_counts=as_device_like(torch.tensor([2, 3])),
            reduction='none')
    assert syncs['count'] == 0, syncs['ops']
    assert torch.equal(trusted, checked)
    # the checks read the index (the loop that passes counts checks once)
    with count_host_syncs() as syncs:
        bbam_loss(*device_args, mask_index=as_device_like(index))
    assert syncs['count'] > 0
    with pytest.raises(ValueError, match='mask_counts must be given'):
        bbam_loss(*args, mask_index=index, mask_counts=torch.tensor([5]))
    with pytest.raises(ValueError, match='mask_counts must be given'):
        bbam_loss(*args[:4], masks[0], mask_counts=torch.tensor([5]))
