# BBAM pseudo-masks of SynthVOC training images from the detector of
# ./faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py, sized for 2 CPU cores:
# the first 100 training images, 300 proposals, at most 50 positives and 30
# Adam iterations (the paper: all images, 1000 / 100 / 300). Each iteration
# runs the backbone forward and backward once per object, about 0.1-0.2 s
# here, so the reference's 300 iterations on all 300 images would take hours.
# The generator's ground-truth masks score the pseudo-masks in the same run
# (mmwsss.BoxPseudoMaskMetric, with the filled-box baseline).
#   python tools/test.py \
#       configs/bbam/bbam_faster-rcnn_r18w32_fpn_synthvoc-240.py \
#       work_dirs/faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240/epoch_12.pth
# Resumable (rerun the same command) and distributed (tools/dist_test.sh).
_base_ = ['./faster-rcnn_r18w32_fpn_1xb8-12e_synthvoc-240.py']

bbam_dir = '{work_dir}/bbam'
model = dict(
    _delete_=True,
    type='mmwsss.BBAM',
    detector=_base_.model,
    num_proposals=300,
    max_positives=50,
    num_iters=30,
    max_objects_per_batch=8,
    # pseudo-masks (CRF on the original image), the reference's settings
    pseudo_mask_cfg=dict(fg_rank_fraction=0.85, ignore_rank_fraction=0.2),
    # processes sharing each image's CRFs; tools/test.py caps them at the
    # process's cores
    num_workers=2)

bbam_pipeline = [
    dict(type='LoadImageFromFile'),
    # the pseudo-masks' CRF runs on the original image
    dict(type='mmwsss.KeepOriginalImage'),
    dict(type='Resize', scale=_base_.image_scale, keep_ratio=True),
    # after Resize: boxes and masks stay in the original frame
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor', 'ori_img'))
]
test_dataloader = dict(
    persistent_workers=False,
    dataset=dict(
        # every box checked: none is dropped silently
        type='mmwsss.ValidatedCocoDataset',
        ann_file='annotations/instances_train.json',
        indices=100,
        pipeline=bbam_pipeline))
test_evaluator = [
    dict(type='mmwsss.BBAMWriter', output_dir=bbam_dir + '/maps'),
    dict(
        type='mmwsss.BBAMPseudoMaskWriter',
        output_dir=bbam_dir + '/masks',
        fg_ann_file=bbam_dir + '/instances_train_fg85.json',
        ignore_ann_file=bbam_dir + '/instances_train_ignore20.json',
        semantic_dir=bbam_dir + '/semantic'),
    dict(type='mmwsss.BoxPseudoMaskMetric'),
]
test_cfg = dict(type='mmwsss.ResumableTestLoop')
# Distributed runs: the frozen detector has nothing for DDP to synchronise
# (DDP refuses a module without trainable parameters).
model_wrapper_cfg = dict(type='MMSeparateDistributedDataParallel')
# A test job (tools/test.py with the trained detector's checkpoint): the
# detector's training recipe is not inherited (BBAM cannot train).
train_dataloader = None
train_cfg = None
optim_wrapper = None
param_scheduler = None
