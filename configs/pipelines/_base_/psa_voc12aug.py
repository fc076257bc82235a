# Stages of the PSA chains on VOC 2012 train_aug (Ahn & Kwak, CVPR 2018), the
# pseudo-mask step of TransCAM and BNR: after the `classifier` and its `cams`
# (of ./irn_voc12aug.py), PSA labels (confident fg/bg from the CAMs at
# alpha 4 / 32, dense CRF) -> AffinityNet -> its random walk -> DeepLab-v2
# trained on the pseudo-masks and tested on val:
#   stages = dict(classifier=..., cams=..., **_base_.psa_stages)
_base_ = ['./irn_voc12aug.py']

psa_label_config = 'configs/psa/psa-label_r50-os16_voc12aug.py'
affinitynet_config = 'configs/psa/affinitynet_r50-d8_1xb8-8e_voc12aug-448.py'
affinity_rw_config = 'configs/psa/affinitynet-rw_r50-d8_voc12aug.py'

psa_stages = dict(
    psa_labels=dict(
        kind='test',
        config=psa_label_config,
        # only recorded in the manifest: the classifier that made the CAMs
        checkpoint='{classifier.checkpoint}',
        outputs=dict(labels='labels'),
        cfg_options={
            _base_.cam_dir_option: '{cams.cams}',
            'test_evaluator.0.output_dir': '{psa_labels.labels}',
        },
        metrics=dict(
            precision='ir_label/precision', labelled='ir_label/labelled')),
    affinitynet=dict(
        kind='train',
        config=affinitynet_config,
        cfg_options={
            'train_dataloader.dataset.ir_label_dir': '{psa_labels.labels}'
        }),
    pseudo_masks=dict(
        kind='test',
        config=affinity_rw_config,
        checkpoint='{affinitynet.checkpoint}',
        outputs=dict(masks='masks'),
        cfg_options={
            _base_.cam_dir_option: '{cams.cams}',
            'test_evaluator.0.output_dir': '{pseudo_masks.masks}',
        },
        metrics=_base_.pseudo_masks['metrics']),
    deeplab=_base_.deeplab,
    deeplab_test=_base_.deeplab_test)
