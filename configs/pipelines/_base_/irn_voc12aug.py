# Stages of the image-label chains on VOC 2012 train_aug (data in the stage
# configs' data/VOCdevkit/VOC2012): a CAM classifier (`classifier`), the CAM
# job that writes the CAMs of train_aug (`cams`), IRN (IR labels, IRNet,
# random-walk pseudo-masks) and DeepLab-v2 on the pseudo-masks, trained and
# then tested on VOC val (5 scales x flip). A pipeline config lists the stages
# it runs, taking these and changing the configs or settings of some:
#   stages = dict(classifier=_base_.classifier, cams=_base_.cams,
#                 **_base_.irn_stages)
# Every stage reads and writes the folders the pipeline runner gives it
# ('{stage.output}'), never the stage configs' default paths.
cam_config = 'configs/cam/cam_r50-os16_1xb16-5e_voc12aug-512.py'
ir_label_config = 'configs/irn/ir-label_r50-os16_voc12aug.py'
irnet_config = 'configs/irn/irnet_r50_1xb32-3e_voc12aug-512.py'
rw_config = 'configs/irn/irnet-rw_r50_voc12aug.py'
ins_config = 'configs/irn/irnet-ins_r50_voc12aug.py'
deeplab_config = ('configs/deeplabv2/'
                  'deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321_pseudo.py')

# The CAM folder of the IR-label and random-walk configs: the cam_dir of
# their mmwsss.LoadCAMFile, right after the image loading.
cam_dir_option = 'test_dataloader.dataset.pipeline.1.cam_dir'
seed_metrics = dict(
    miou='cam_seed/mIoU',
    threshold='cam_seed/threshold',
    precision='cam_seed/precision',
    recall='cam_seed/recall')
# A CAM job's CAMWriter (evaluator 0) writes into the stage's `cams`.
cam_writer_options = {'test_evaluator.0.output_dir': '{cams.cams}'}

classifier = dict(
    kind='train',
    config=cam_config,
    metrics=dict(cls_map='multi-label/mAP'))
cams = dict(
    kind='test',
    config=cam_config,
    checkpoint='{classifier.checkpoint}',
    outputs=dict(cams='cams'),
    cfg_options=cam_writer_options,
    metrics=seed_metrics)
ir_labels = dict(
    kind='test',
    config=ir_label_config,
    # only recorded in the manifest: the classifier that made the CAMs
    checkpoint='{classifier.checkpoint}',
    outputs=dict(labels='labels'),
    cfg_options={
        cam_dir_option: '{cams.cams}',
        'test_evaluator.0.output_dir': '{ir_labels.labels}',
    },
    metrics=dict(
        precision='ir_label/precision', labelled='ir_label/labelled'))
irnet = dict(
    kind='train',
    config=irnet_config,
    cfg_options={
        'train_dataloader.dataset.ir_label_dir': '{ir_labels.labels}'
    })
pseudo_masks = dict(
    kind='test',
    config=rw_config,
    checkpoint='{irnet.checkpoint}',
    outputs=dict(masks='masks'),
    cfg_options={
        cam_dir_option: '{cams.cams}',
        'test_evaluator.0.output_dir': '{pseudo_masks.masks}',
    },
    metrics=dict(
        miou='pseudo_mask/mIoU',
        precision='pseudo_mask/mPrecision',
        recall='pseudo_mask/mRecall'))
deeplab = dict(
    kind='train',
    config=deeplab_config,
    cfg_options={
        'train_dataloader.dataset.pseudo_mask_dir': '{pseudo_masks.masks}'
    },
    metrics=dict(val_miou='mIoU'))
deeplab_test = dict(
    kind='test',
    config=deeplab_config,
    checkpoint='{deeplab.checkpoint}',
    args=['--tta'],
    metrics=dict(val_miou='mIoU'))
irn_stages = dict(
    ir_labels=ir_labels,
    irnet=irnet,
    pseudo_masks=pseudo_masks,
    deeplab=deeplab,
    deeplab_test=deeplab_test)

# W-OoD's IRN settings (naver-ai/w-ood run_sample.py; dissertation §4): IR
# labels at foreground 0.30 / background 0.15, CAM^1.5 before the random walk,
# background score 0.22.
wood_ir_labels = dict(
    ir_labels,
    cfg_options=dict(
        ir_labels['cfg_options'], **{
            'model.fg_threshold': 0.30,
            'model.bg_threshold': 0.15,
        }))
wood_pseudo_masks = dict(
    pseudo_masks,
    cfg_options=dict(
        pseudo_masks['cfg_options'], **{
            'model.cam_power': 1.5,
            'model.bg_threshold': 0.22,
        }))
wood_irn_stages = dict(
    irn_stages, ir_labels=wood_ir_labels, pseudo_masks=wood_pseudo_masks)

# W-OoD (dissertation §4): the trained CAM classifier (`cam`) fine-tuned with
# the hard OoD images (`classifier`, configs/wood; data in its
# data/WOoD_dataset), the classifier of the W-OoD chains.
wood_config = 'configs/wood/wood_r50-os16_k50_1xb16-5e_voc12aug-512.py'
wood_stages = dict(
    cam=classifier,
    classifier=dict(
        classifier,
        config=wood_config,
        cfg_options={'load_from': '{cam.checkpoint}'}))
# A CAM job of another method on the W-OoD classifier: its checkpoint also
# holds W-OoD's OoD centre buffers, which that model does not have.
wood_cams = dict(
    cams, cfg_options=dict(cams['cfg_options'], load_from_strict=False))
