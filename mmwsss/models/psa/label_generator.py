# Copyright (c) mmwsss contributors. All rights reserved.
"""PSA's confident labels (la/ha) from CAM files."""
from mmwsss.registry import MODELS
from ..irn.ir_label_generator import CAMLabelGenerator
from .functional import psa_crf_scores, psa_la_ha_label


@MODELS.register_module()
class PSALabelGenerator(CAMLabelGenerator):
    """AffinityNet's training labels from CAM files (PSA ``infer_cls.py``).

    For each image, takes the CAMs ``keys`` and ``high_res`` of its data
    sample (loaded by ``dict(type='mmwsss.LoadCAMFile', cam_dir=...,
    arrays=('keys', 'high_res'))``) and runs
    :func:`mmwsss.functional.psa_la_ha_label`: two score maps
    ``[(1 - max cam)**alpha; CAMs]`` with a weak (``la_alpha``) and a strong
    (``ha_alpha``) background, each refined by PSA's dense CRF
    (:func:`mmwsss.functional.psa_crf_scores`) unless ``crf=False``; the
    label is the ``la`` argmax, unknown (255) where ``la`` says background
    unless ``ha`` says background too (0).

    The reference saves both CRF score maps and combines them on each
    8x8-pooled training crop; here they are combined at full resolution into
    one label PNG (written by :class:`mmwsss.IRLabelWriter`, scored by
    :class:`mmwsss.IRLabelMetric`) that :class:`mmwsss.IRLabelDataset`
    reads back and :class:`mmwsss.DownsampleLabel` reduces to the feature
    grid, as for IRNet. Run it with ``tools/test.py CONFIG CKPT``; ``CKPT``
    (the CAM classifier) is only recorded in the writer's manifest.
    Distributed runs need ``model_wrapper_cfg =
    dict(type='MMSeparateDistributedDataParallel')`` (set in the configs).

    Args:
        la_alpha (float): Background power of the weak-background map.
            Defaults to 4.
        ha_alpha (float): Background power of the strong-background map.
            Defaults to 32.
        crf (bool): Refine both maps with the dense CRF. Defaults to True.
        crf_cfg (dict, optional): Keyword arguments of
            :func:`mmwsss.functional.psa_crf_scores` overriding PSA's CRF
            settings (``iterations`` and the kernel settings), e.g. smaller
            spatial ranges for images much smaller than VOC's.
            Defaults to None.
        num_workers (int): Worker processes per batch; 0 or 1 computes in
            the main process. Defaults to 0.
        data_preprocessor (dict, optional): Defaults to
            ``BaseDataPreprocessor`` (no normalisation).
        init_cfg (dict, optional): Unused (no weights). Defaults to None.
    """

    def __init__(self,
                 la_alpha: float = 4,
                 ha_alpha: float = 32,
                 **kwargs):
        super().__init__(**kwargs)
        if not 0 < la_alpha <= ha_alpha:
            raise ValueError('Expected 0 < la_alpha <= ha_alpha, got '
                             f'{la_alpha} and {ha_alpha}')
        self.la_alpha = la_alpha
        self.ha_alpha = ha_alpha

    label_fn = staticmethod(psa_la_ha_label)
    crf_fn = staticmethod(psa_crf_scores)

    def label_params(self) -> dict:
        return dict(la_alpha=self.la_alpha, ha_alpha=self.ha_alpha)
