# Copyright (c) mmwsss contributors. All rights reserved.
"""The visualizer of every mmwsss stage."""
import os
import os.path as osp
from typing import List, Optional, Tuple

import numpy as np
from mmengine.visualization import Visualizer
from PIL import Image

from mmwsss.registry import VISUALIZERS
from mmwsss.utils.tensor import to_numpy
from .drawing import (draw_boxes, draw_heatmap, draw_instances,
                      draw_label_map, side_by_side)


def _field(sample, name: str):
    """A field of a data sample (element or dict), or None."""
    value = sample.get(name, None) if hasattr(sample, 'get') else None
    if value is None and hasattr(sample, name):
        value = getattr(sample, name)
    return value


def _pixels(value) -> Optional[np.ndarray]:
    """(H, W) array of a PixelData / tensor / array label map."""
    if value is None:
        return None
    for key in ('data', 'sem_seg'):
        if hasattr(value, key):
            value = getattr(value, key)
            break
    array = to_numpy(value)
    return array[0] if array.ndim == 3 else array


@VISUALIZERS.register_module()
class WSSSVisualizer(Visualizer):
    """Draws what a WSSS or WSOL stage produced for an image, side by side.

    From the fields a data sample carries, in this order:

    - ``cam_high_res`` (else ``cam_strided``) with ``cam_keys``: one heat
      map per class (at most ``max_cams``), and with ``seed_threshold`` the
      seeds (argmax of the maps against a constant background score);
    - ``cam_gt`` (WSOL): the score map with the ground-truth boxes
      (``gt_bboxes``, green) and the largest-contour box at
      ``wsol_threshold`` (red);
    - ``pred_instances``: BBAM maps with their boxes (``bbams``), instance
      masks with boxes and class names (``masks``/``bboxes``/``labels``);
    - ``pred_sem_seg``: the predicted label map (IR labels with their
      ignore band, pseudo-masks, segmenter outputs);
    - ``gt_sem_seg`` / ``gt_instances``: the ground truth.

    Colours are VOC's (255 = ignore in VOC's void colour); class names come
    from ``dataset_meta['classes']``. Use it as a config's ``visualizer``, or
    through ``tools/test.py --show-dir`` (any stage).

    Args:
        name (str): Instance name. Defaults to ``'visualizer'``.
        seed_threshold (float, optional): Background score of the seed
            panel; None leaves the panel out. Defaults to 0.15.
        wsol_threshold (float): CAM threshold of the WSOL box. Defaults to
            0.2.
        max_cams (int): Most CAM panels per image. Defaults to 4.
        alpha (float): Opacity of the overlays. Defaults to 0.5.
        **kwargs: Arguments of mmengine's ``Visualizer`` (``vis_backends``,
            ``save_dir``).
    """

    def __init__(self,
                 name: str = 'visualizer',
                 seed_threshold: Optional[float] = 0.15,
                 wsol_threshold: float = 0.2,
                 max_cams: int = 4,
                 alpha: float = 0.5,
                 **kwargs):
        super().__init__(name=name, **kwargs)
        self.seed_threshold = seed_threshold
        self.wsol_threshold = wsol_threshold
        self.max_cams = max_cams
        self.alpha = alpha

    def _name(self, label: int) -> str:
        classes = (self.dataset_meta or {}).get('classes')
        if classes is not None and 0 <= label < len(classes):
            return str(classes[label])
        return str(label)

    def _cam_panels(self, image, sample) -> List[Tuple[str, np.ndarray]]:
        maps = _field(sample, 'cam_high_res')
        if maps is None:
            maps = _field(sample, 'cam_strided')
        keys = _field(sample, 'cam_keys')
        if maps is None or keys is None:
            return []
        maps, keys = to_numpy(maps, np.float32), to_numpy(keys).reshape(-1)
        panels = [(f'CAM {self._name(int(k))}',
                   draw_heatmap(image, maps[i], self.alpha))
                  for i, k in enumerate(keys[:self.max_cams])]
        if self.seed_threshold is not None and len(keys):
            resized = np.stack([
                np.asarray(
                    Image.fromarray(m, mode='F').resize(
                        image.shape[1::-1], Image.BILINEAR)) for m in maps
            ])
            peak = resized.reshape(len(keys), -1).max(1)
            scores = resized / np.maximum(peak, 1e-5)[:, None, None]
            scores = np.concatenate(
                [np.full((1, ) + scores.shape[1:], self.seed_threshold),
                 scores])
            winner = scores.argmax(0)
            seeds = np.where(winner > 0, keys[winner - 1] + 1, 0)
            panels.append((f'seeds @{self.seed_threshold:g}',
                           draw_label_map(image, seeds)))
        return panels

    def _wsol_panel(self, image, sample) -> List[Tuple[str, np.ndarray]]:
        score_map = _field(sample, 'cam_gt')
        if score_map is None:
            return []
        from mmwsss.evaluation.functional import boxes_from_scoremap
        score_map = to_numpy(score_map, np.float32)
        panel = draw_heatmap(image, score_map, self.alpha)
        scale = np.array([image.shape[1] / score_map.shape[1],
                          image.shape[0] / score_map.shape[0]] * 2)
        normalised = score_map / max(float(score_map.max()), 1e-12)
        boxes, _ = boxes_from_scoremap(
            np.clip(normalised, 0, 1), [self.wsol_threshold], False)
        panel = draw_boxes(panel, boxes[0] * scale, colour=(255, 40, 40))
        gt_boxes = _field(sample, 'gt_bboxes')
        if gt_boxes is not None:
            ori_h, ori_w = _field(sample, 'ori_shape')[:2]
            gt_scale = np.array([image.shape[1] / ori_w,
                                 image.shape[0] / ori_h] * 2)
            panel = draw_boxes(panel, to_numpy(gt_boxes) * gt_scale,
                               colour=(40, 220, 40))
        return [(f'WSOL @{self.wsol_threshold:g}', panel)]

    def _instance_panels(self, image, sample, field: str, title: str):
        instances = _field(sample, field)
        if instances is None or len(instances) == 0:
            return []
        boxes = instances.get('bboxes', None)
        boxes = None if boxes is None else to_numpy(boxes)
        labels = instances.get('labels', None)
        labels = None if labels is None else to_numpy(labels).tolist()
        names = (self.dataset_meta or {}).get('classes')
        panels = []
        bbams = instances.get('bbams', None)
        if bbams is not None:
            combined = np.zeros(image.shape[:2], np.float32)
            for bbam in bbams:
                resized = np.asarray(
                    Image.fromarray(to_numpy(bbam, np.float32),
                                    mode='F').resize(image.shape[1::-1],
                                                     Image.BILINEAR))
                combined = np.maximum(combined, resized)
            panel = draw_heatmap(image, combined, self.alpha)
            if boxes is not None:
                panel = draw_boxes(panel, boxes)
            panels.append(('BBAM', panel))
        masks = instances.get('masks', None)
        if masks is not None or (boxes is not None and bbams is None):
            masks = None if masks is None else to_numpy(masks)
            panels.append((title,
                           draw_instances(image, masks, boxes, labels, names,
                                          self.alpha)))
        return panels

    def panels(self,
               image: np.ndarray,
               sample,
               draw_gt: bool = True,
               draw_pred: bool = True) -> List[Tuple[str, np.ndarray]]:
        """The titled panels of one sample, image first."""
        panels = [('image', image)]
        if draw_pred:
            panels += self._cam_panels(image, sample)
            panels += self._wsol_panel(image, sample)
            panels += self._instance_panels(image, sample, 'pred_instances',
                                            'instances')
            pred = _pixels(_field(sample, 'pred_sem_seg'))
            if pred is not None:
                panels.append(('prediction', draw_label_map(image, pred)))
        if draw_gt:
            gt = _pixels(_field(sample, 'gt_sem_seg'))
            if gt is not None:
                panels.append(('ground truth', draw_label_map(image, gt)))
            panels += self._instance_panels(image, sample, 'gt_instances',
                                            'ground truth')
        return panels

    def add_datasample(self,
                       name: str,
                       image: np.ndarray,
                       data_sample=None,
                       draw_gt: bool = True,
                       draw_pred: bool = True,
                       show: bool = False,
                       wait_time: float = 0,
                       out_file: Optional[str] = None,
                       step: int = 0) -> np.ndarray:
        """Draw the panels of ``data_sample`` in a row.

        Args:
            name (str): Image identifier (for the backends).
            image (np.ndarray): (H, W, 3) uint8 RGB image.
            data_sample: The sample (predictions and ground truth).
            draw_gt (bool): Include the ground-truth panels.
            draw_pred (bool): Include the prediction panels.
            show (bool): Show the row in a window.
            wait_time (float): Seconds to show it.
            out_file (str, optional): Save the row as this file instead of
                handing it to the backends.
            step (int): Global step for the backends.

        Returns:
            np.ndarray: The drawn row (RGB).
        """
        image = np.ascontiguousarray(image, dtype=np.uint8)
        panels = [('image', image)] if data_sample is None else self.panels(
            image, data_sample, draw_gt, draw_pred)
        row = side_by_side(panels)
        self.set_image(row)
        if show:
            self.show(row, win_name=name, wait_time=wait_time)
        if out_file is not None:
            os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
            Image.fromarray(row).save(out_file)
        else:
            self.add_image(name, row, step)
        return row
