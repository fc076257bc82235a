# Copyright (c) mmwsss contributors. All rights reserved.
"""AdvCAM's adversarial climbing on RIB's per-image fine-tuned weights."""
from typing import Sequence, Tuple

import torch
from mmpretrain.structures import DataSample

from mmwsss.registry import MODELS
from ..advcam import AdvCAMClassifier
from ..classifiers.cam_classifier import ground_truth_cam_keys
from .classifier import RIBClassifier


@MODELS.register_module()
class RIBAdvCAMClassifier(RIBClassifier, AdvCAMClassifier):
    """RIB followed by AdvCAM as one CAM job (dissertation §4.6, Table 4.7:
    "+ AdvCAM (§3.3) + RIB (§3.4)").

    Per test image, the classifier is first fine-tuned with RIB
    (:class:`RIBClassifier`: K steps and its stop rules), then AdvCAM's
    adversarial climbing (:class:`AdvCAMClassifier`) runs on the last
    fine-tuned model whose maps RIB accumulated (``theta_{K'-1}``: the one
    before the final update, or before the explosion), and its multi-scale
    AdvCAM maps are the image's CAMs; the initial weights are restored
    afterwards, so no image sees another's fine-tuning. The dissertation
    gives no more detail of the combination; climbing on the fine-tuned
    weights is the order its text implies (RIB raises the logits of the
    non-discriminative regions, AdvCAM then climbs on that classifier).

    The output fields are those of :class:`AdvCAMClassifier`
    (``cam_keys``, ``cam_strided``, ``cam_high_res`` and the scores of the
    climbed model), so :class:`mmwsss.CAMWriter` and the IRN stages follow
    unchanged; ``rib_steps`` and ``rib_stop`` go into the metainfo as with
    :class:`RIBClassifier`. A checkpoint of any CAM classifier config loads.

    Args:
        **kwargs: The arguments of :class:`RIBClassifier` (``rib_data``,
            ``num_iters``, ``lr``, ...) and of :class:`AdvCAMClassifier`
            (``adv_iter``, ``ad_coeff``, ``step_size``, ``score_th``, ...)
            and :class:`CAMClassifier`.
    """

    def predict_cams(self, scales: Sequence[torch.Tensor],
                     sample: DataSample) -> DataSample:
        """AdvCAM CAMs of one image on its RIB-fine-tuned weights."""
        return AdvCAMClassifier.predict_cams(self, scales, sample)

    def _advcam_outputs(
        self, scales: Sequence[torch.Tensor], sample: DataSample
    ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Fine-tune with RIB, climb with AdvCAM, restore the weights."""
        keys = ground_truth_cam_keys(sample)
        factors = sample.metainfo.get('cam_scales')
        if factors is None or len(factors) != len(scales):
            raise ValueError(
                'RIB needs the scale factor of every input scale (metainfo '
                f'"cam_scales", set by MultiScaleResize), got {factors!r} '
                f'for {len(scales)} scales')
        params = [p for p in self.parameters() if p.requires_grad]
        with torch.enable_grad():
            _, _, steps, reason = self._fine_tune(
                scales, [float(f) for f in factors],
                keys,
                self._image_key(sample),
                keep_last_model=True)
        try:
            outputs = super()._advcam_outputs(scales, sample)
        finally:
            self._restore_weights(params)
        sample.set_metainfo(dict(rib_steps=steps, rib_stop=reason))
        return outputs
