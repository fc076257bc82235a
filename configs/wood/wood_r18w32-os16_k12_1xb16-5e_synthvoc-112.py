# W-OoD on the CPU-sized SynthVOC CAM classifier: the demo classifier
# (configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py) fine-tuned with
# SynthVOC's OoD split (habitat backgrounds without objects, `ood_list.txt`).
# Fine-tuning schedule, frozen layers and checkpoint selection (val mAP) are
# those of the baseline cam-ft_r18w32-os16_1xb16-5e_synthvoc-112.py.
#   python tools/train.py \
#       configs/wood/wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py
#   python tools/test.py \
#       configs/wood/wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py \
#       work_dirs/wood_r18w32-os16_k12_1xb16-5e_synthvoc-112/best_*.pth
# Moving the data: override the data_root of model.ood_data.dataset and of
# both datasets of the WOoDCentersHook (custom_hooks.0) too.
_base_ = ['./cam-ft_r18w32-os16_1xb16-5e_synthvoc-112.py']

# The classifier of load_from has no W-OoD centre buffers (WOoDCentersHook
# computes them).
load_from_strict = False

data_root = 'data/synthvoc'
# OoD training images get the in-distribution training augmentation, as in
# the reference (long side, flip, crop).
ood_train_dataset = dict(
    type='mmwsss.OoDImageDataset',
    data_root=data_root,
    ann_file='ood_list.txt',
    pipeline={{_base_.train_pipeline}})
# Centre features: every image once, native size (SynthVOC's OoD images have
# the size distribution of its training images; VOC's recipe resizes the OoD
# long side to 500).
feature_pipeline = [
    dict(type='mmwsss.LoadImageRGB'),
    dict(type='mmwsss.PackCAMInputs'),
]

model = dict(
    type='mmwsss.WOoDClassifier',
    ood_data=dict(dataset=ood_train_dataset, batch_size=16, num_workers=0),
    # 60 OoD images: K = 50 would give near-singleton clusters; 12 keeps
    # about 5 images per cluster (2 per habitat), the reference's ~100 per
    # cluster being out of reach.
    num_ood_clusters=12,
    distance_lambda=0.007,
    ood_coeff=0.25,
    topk_ratio=0.2,
    per_image_topk=False,
    ood_step_size=0.07,
    # SynthVOC has no class that OoD images legitimately show.
    excluded_classes=())

custom_hooks = [
    dict(
        type='mmwsss.WOoDCentersHook',
        in_dataset=dict(
            type='mmwsss.VOCWSSSDataset',
            data_root=data_root,
            ann_file='ImageSets/Segmentation/train.txt',
            data_prefix=dict(img_path='JPEGImages', ann_path='Annotations'),
            label_source='xml',
            pipeline=feature_pipeline),
        ood_dataset=dict(
            type='mmwsss.OoDImageDataset',
            data_root=data_root,
            ann_file='ood_list.txt',
            pipeline=feature_pipeline),
        kmeans_iterations=10)
]
