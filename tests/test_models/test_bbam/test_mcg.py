# Copyright (c) mmwsss contributors. All rights reserved.
import numpy as np
import pytest
import torch

from mmwsss.functional import mcg_refine_mask
from mmwsss.models.bbam import bbam_pseudo_masks
from mmwsss.testing import as_device_like
from mmwsss.testing.mcg import synthetic_mcg_proposals

SIZE = 48
WHOLE = (0, 0, SIZE, SIZE)


def stripes() -> np.ndarray:
    """Six vertical superpixels of 8 columns: 0..5."""
    return np.broadcast_to(np.arange(SIZE) // 8, (SIZE, SIZE)).copy()


def membership(proposals, num_superpixels) -> np.ndarray:
    out = np.zeros((len(proposals), num_superpixels), dtype=bool)
    for p, ids in enumerate(proposals):
        out[p, list(ids)] = True
    return out


def region(superpixels, ids) -> np.ndarray:
    return np.isin(superpixels, list(ids))


def refine(mask,
           proposals,
           superpixels=None,
           box=WHOLE,
           ignore=None,
           count='pixels'):
    superpixels = stripes() if superpixels is None else superpixels
    num = max([superpixels.max()] + [max(ids) for ids in proposals]) + 1
    return mcg_refine_mask(mask, mask if ignore is None else ignore, box,
                           superpixels, membership(proposals, num), count)


def test_small_boxes_keep_their_masks():
    sp = stripes()
    mask = region(sp, {1})
    mask[:, 8] = False
    # 21 x 48 = 1008 pixels < 32 x 32; 32 x 48 is refined
    for box, refined in (((0, 0, 21, 48), False), ((0, 0, 32, 48), True)):
        fg, ignore, done = refine(mask, [{1}], box=box)
        assert done is refined
        np.testing.assert_array_equal(fg, region(sp, {1}) if refined else mask)
        np.testing.assert_array_equal(ignore, fg)


def test_best_iou_among_proposals_mostly_inside_the_box():
    sp = stripes()
    box = (0, 0, 44, SIZE)  # stripe 5 (columns 40..47) half inside
    mask = region(sp, {2})
    mask[40:] = False
    mask[:, 40:44] = True
    # IoU 1/3 ({2, 3}), 0.56 ({2}) and 0.67 ({2, 5}), but {2, 5} has only
    # 75 % of its pixels inside the box; none lies 95 % inside the mask
    fg, _, _ = refine(mask, [{2, 3}, {2}, {2, 5}], box=box)
    np.testing.assert_array_equal(fg, region(sp, {2}))
    # first of ties
    fg, _, _ = refine(region(sp, {2, 3}), [{1, 2}, {3, 4}])
    np.testing.assert_array_equal(fg, region(sp, {1, 2}))


def test_proposals_with_a_superpixel_outside_the_box_are_left_out():
    sp = np.full((SIZE, SIZE), 0)  # outside the box
    sp[1, 1] = 1  # one pixel, outside
    sp[8:40, 8:40] = 4  # the rest of the box
    sp[10:30, 10:20] = 2  # a part of the object
    sp[10:30, 20:30] = 3  # the other part
    box = (8, 8, 40, 40)
    mask = region(sp, {2, 3})
    # proposal 0 is the object plus one pixel outside the box: the best IoU,
    # 99.75 % inside the box, but it holds a superpixel outside the box
    fg, _, done = refine(mask, [{1, 2, 3}, {2}], superpixels=sp, box=box)
    assert done
    np.testing.assert_array_equal(fg, region(sp, {2}))
    # a superpixel across the side of the box (one column of 20 pixels
    # outside, 95.7 % of the proposal inside) is kept
    sp[10:30, 7:10] = 3
    fg, _, _ = refine(mask, [{2, 3}, {2}], superpixels=sp, box=box)
    expected = region(sp, {2, 3})
    expected[:, :8] = False  # restricted to the box
    np.testing.assert_array_equal(fg, expected)


def test_best_proposal_united_with_those_inside_the_mask():
    sp = stripes()
    mask = region(sp, {1, 2, 3})
    proposals = [
        {0, 1, 2},  # IoU 0.5: the best
        {3},  # inside the mask: added
        {1},  # inside: added
        {3, 4},  # half inside: not added, IoU 0.25
    ]
    fg, ignore, _ = refine(mask, proposals)
    np.testing.assert_array_equal(fg, region(sp, {0, 1, 2, 3}))
    np.testing.assert_array_equal(ignore, fg)
    # "inside" is more than 95 % of the proposal
    sp[:, 0] = 6
    sp[:, 47] = 7
    proposals = [
        {1, 2, 3},  # the mask itself: the best
        {1, 2, 6},  # 768 of 816 pixels inside (94.1 %): not added
        {1, 2, 3, 7},  # 1152 of 1200 inside (96 %): added
    ]
    fg, _, _ = refine(mask, proposals, superpixels=sp)
    np.testing.assert_array_equal(fg, region(sp, {1, 2, 3, 7}))


def test_no_qualifying_proposal_keeps_the_mask():
    sp = stripes()
    mask = region(sp, {1})
    mask[:10] = False
    # disjoint from the mask: IoU 0, not a "best overlap"
    fg, ignore, done = refine(mask, [{3}, {4, 5}])
    assert done
    np.testing.assert_array_equal(fg, mask)
    np.testing.assert_array_equal(ignore, mask)
    fg, _, _ = refine(mask, [])
    np.testing.assert_array_equal(fg, mask)


def test_the_refined_foreground_joins_the_ignore_mask():
    sp = stripes()
    fg, ignore, _ = refine(region(sp, {1}), [{1, 2}, {3}],
                           ignore=region(sp, {3, 4}))
    np.testing.assert_array_equal(fg, region(sp, {1, 2}))
    # the ignore mask alone refines to stripe 3
    alone, _, _ = refine(region(sp, {3, 4}), [{1, 2}, {3}])
    np.testing.assert_array_equal(alone, region(sp, {3}))
    np.testing.assert_array_equal(ignore, region(sp, {1, 2, 3}))


def test_reference_counts_weigh_pixels_by_their_coordinates():
    sp = np.full((SIZE, SIZE), 2)
    sp[0:4, 0:4] = 0  # 16 pixels at the top-left corner, row+col 0..6
    sp[0:16, 4:20] = 1  # 256 pixels
    mask = sp == 1
    proposals = [{0, 1}, {1}]
    # {0, 1}: 256 / 272 = 94.1 % of its pixels inside the mask, but
    # 4864 / 4912 = 99.0 % of its row+col sum
    fg, _, _ = refine(mask, proposals, superpixels=sp, count='pixels')
    np.testing.assert_array_equal(fg, sp == 1)
    fg, _, _ = refine(mask, proposals, superpixels=sp, count='reference')
    np.testing.assert_array_equal(fg, sp <= 1)
    with pytest.raises(ValueError, match='count must be one of'):
        refine(mask, proposals, superpixels=sp, count='coords')


def _brute_force(mask, box, superpixels, proposals, count):
    """One proposal at a time, on pixel masks, counting as the reference
    (``np.sum(np.where(region))``) or in pixels."""

    def area(region):
        return np.sum(np.where(region)) if count == 'reference' else int(
            region.sum())

    x0, y0, x1, y1 = box
    in_box = np.zeros_like(mask)
    in_box[y0:y1, x0:x1] = True
    best, best_iou, chosen = None, 0.0, []
    for ids in proposals:
        pixels = np.isin(superpixels, list(ids))
        if any((superpixels == s).any() and not (in_box
                                                 & (superpixels == s)).any()
               for s in ids):
            continue
        size = area(pixels)
        if size == 0:
            continue
        inter = area(pixels & mask)
        if area(pixels & in_box) > 0.95 * size:
            iou = inter / area(pixels | mask)
            if iou > best_iou:
                best, best_iou = pixels, iou
        if inter > 0.95 * size:
            chosen.append(pixels)
    if best is not None:
        chosen.append(best)
    if not chosen:
        return mask
    return np.any(chosen, axis=0) & in_box


@pytest.mark.parametrize('count', ('pixels', 'reference'))
@pytest.mark.parametrize('seed', range(4))
def test_vectorised_counts_follow_the_one_by_one_definition(count, seed):
    rng = np.random.default_rng(seed)
    height, width = 40, 52
    superpixels = rng.integers(0, 30,
                               (height // 4, width // 4)).repeat(4, 0).repeat(
                                   4, 1)
    mask = np.zeros((height, width), dtype=bool)
    mask[8:30, 10:40] = rng.random((22, 30)) < 0.8
    proposals = [
        set(rng.choice(30, rng.integers(1, 8), replace=False).tolist())
        for _ in range(60)
    ]
    box = (4, 6, 46, 38)
    fg, _, _ = refine(mask,
                      proposals,
                      superpixels=superpixels,
                      box=box,
                      count=count)
    np.testing.assert_array_equal(
        fg, _brute_force(mask, box, superpixels, proposals, count))


def test_inputs_are_checked_and_tensors_accepted():
    sp = stripes()
    mask = region(sp, {1})
    members = membership([{1, 2}], 6)
    # tensors as from a device (no bare .numpy()), e.g. a model's masks
    fg, _, _ = mcg_refine_mask(*as_device_like([
        torch.from_numpy(mask),
        torch.from_numpy(mask), WHOLE,
        torch.from_numpy(sp),
        torch.from_numpy(members)
    ]))
    np.testing.assert_array_equal(fg, region(sp, {1, 2}))
    with pytest.raises(ValueError, match='share one'):
        mcg_refine_mask(mask[:-1], mask[:-1], WHOLE, sp, members)
    with pytest.raises(ValueError, match='largest superpixel id'):
        mcg_refine_mask(mask, mask, WHOLE, sp, members[:, :5])
    with pytest.raises(ValueError, match='inside the 48x48'):
        mcg_refine_mask(mask, mask, (0, 0, 49, 48), sp, members)


def _scene():
    objects = np.zeros((64, 96), dtype=np.uint8)
    objects[10:50, 8:40] = 1
    objects[20:60, 50:90] = 2
    objects[20:22, 50:90] = 255  # a void band counts as background
    return objects


def test_synthetic_proposals_follow_the_scene():
    objects = _scene()
    superpixels, labels = synthetic_mcg_proposals(objects,
                                                  np.random.default_rng(0),
                                                  cell=8,
                                                  num_clutter=5)
    assert superpixels.min() == 1 and superpixels.shape == objects.shape
    # every superpixel lies in one object (or the background)
    plain = np.where(objects == 255, 0, objects)
    for s in np.unique(superpixels):
        assert len(np.unique(plain[superpixels == s])) == 1
    masks = [np.isin(superpixels, ids) for ids in labels]
    for k in (1, 2):
        assert any(np.array_equal(m, plain == k) for m in masks)
    assert len(labels) == 2 * 4 + 5 and all(len(ids) for ids in labels)


def test_refinement_repairs_a_damaged_mask_on_synthetic_proposals():
    objects = _scene()
    superpixels, labels = synthetic_mcg_proposals(objects,
                                                  np.random.default_rng(0),
                                                  cell=8)
    members = membership([ids - 1 for ids in labels], superpixels.max())
    truth = objects == 1
    damaged = truth.copy()
    damaged[10:20, 8:40] = False  # a missed top
    damaged[50:54, 8:40] = True  # a bleed below the box
    fg, _, _ = mcg_refine_mask(damaged, damaged, (8, 10, 40, 50),
                               superpixels - 1, members)

    def iou(a, b):
        return (a & b).sum() / (a | b).sum()

    assert iou(damaged, truth) < 0.8
    assert iou(fg, truth) == 1.0


def test_pseudo_masks_refined_on_request_only():
    image = np.random.default_rng(0).integers(0,
                                              256, (SIZE, SIZE, 3),
                                              dtype=np.uint8)
    bbam = np.zeros((6, 6), dtype=np.float32)
    bbam[1:5, 1:3] = 1
    boxes = np.array([[0., 0., 40., 48.], [40., 0., 48., 20.]])
    args = ([bbam, bbam], [3, 3], boxes, [0, 1], image)
    crf = dict(crf=lambda img, p: p)
    plain = bbam_pseudo_masks(*args, **crf)
    assert 'mcg_refined' not in plain
    sp = stripes()
    mcg = (sp, membership([{0, 1, 2}, {5}], 6))
    out = bbam_pseudo_masks(*args, mcg=mcg, **crf)
    assert out['mcg_refined'].tolist() == [True, False]  # 8 x 20 box
    for k, box in enumerate(boxes.astype(int)):
        fg, ignore, _ = mcg_refine_mask(plain['masks'][k],
                                        plain['ignore_masks'][k], box, *mcg)
        np.testing.assert_array_equal(out['masks'][k], fg)
        np.testing.assert_array_equal(out['ignore_masks'][k], ignore)
    assert not np.array_equal(out['masks'], plain['masks'])
    # the semantic label stays that of the masks before, as the reference's
    np.testing.assert_array_equal(out['sem_seg'], plain['sem_seg'])
    merged = bbam_pseudo_masks(*args, mcg=mcg, mcg_semantic=True, **crf)
    assert not np.array_equal(merged['sem_seg'], plain['sem_seg'])
    np.testing.assert_array_equal(merged['masks'], out['masks'])
