# RFGA "w/ R" on Stanford Dogs (RFGA Table 1): the RFGA CUB config
# (rfga_r50-os8_1xb20-60e_cub-448.py: ResNet-50 at output stride 8, the
# module with sigmoid after the sum and residual calibration, 600 -> 448
# crop, batch 20, 60 epochs, x0.1 every 15, RFGA's metrics) on Stanford Dogs
# (120 classes; layout and splits as in
# ../_base_/datasets/stanford_dogs_wsol.py, the RFGA pipelines kept).
_base_ = './rfga_r50-os8_1xb20-60e_cub-448.py'

dataset_type = 'mmwsss.StanfordDogsWSOLDataset'
data_root = 'data/StanfordDogs'

model = dict(
    data_preprocessor=dict(num_classes=120),
    head=dict(num_classes=120))

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='train'))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, split='test'))
test_dataloader = val_dataloader
