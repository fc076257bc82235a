# CUB-200-2011 for WSOL: image-level labels to train, boxes to test.
# Transforms of wsolevaluation and MoANA: train Resize((256, 256)) (aspect
# ratio not kept, PIL bilinear) -> random 224 crop -> horizontal flip; test
# Resize((224, 224)) only, score maps at 224 x 224.
# Expected layout (data_root, the official CUB_200_2011 folder): images/,
# images.txt, image_class_labels.txt, train_test_split.txt,
# bounding_boxes.txt, classes.txt.
dataset_type = 'mmwsss.CUBWSOLDataset'
data_root = 'data/CUB_200_2011'
num_classes = 200

train_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.WSOLResize', size=(256, 256)),
    dict(type='RandomCrop', crop_size=224),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='mmwsss.PackCAMInputs'),
]
# WSOLResize leaves gt_bboxes in original pixels; WSOLMetric rescales them
# with the protocol's truncation.
test_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.WSOLResize', size=(224, 224)),
    dict(type='mmwsss.PackWSOLInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    # the attention necks normalise over the batch: no batch of one image
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        pipeline=train_pipeline))
# CUB has no validation split; as in MoANA the test split is evaluated (its
# MaxBoxAcc thresholds are therefore oracles, see WSOLMetric).
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline))
# CAM thresholds every 0.01 (MoANA), IoU 30/50/70 for MaxBoxAccV2.
val_evaluator = dict(type='mmwsss.WSOLMetric', cam_curve_interval=0.01)
test_dataloader = val_dataloader
test_evaluator = val_evaluator
