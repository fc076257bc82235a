# RFGA "w/ R" on Dogs (RFGA Table 1): the RFGA CUB config
# (rfga_r50-os8_1xb20-60e_cub-448.py: ResNet-50 at output stride 8, the
# module with sigmoid after the sum and residual calibration, 600 -> 448
# crop, batch 20, 60 epochs, x0.1 every 15, RFGA's metrics) on the data of
# ../_base_/datasets/stanford_dogs_wsol.py (120 classes; the RFGA pipelines kept).
_base_ = './rfga_r50-os8_1xb20-60e_cub-448.py'

model = dict(
    data_preprocessor=dict(num_classes=120), head=dict(num_classes=120))

train_dataloader = dict(
    dataset=dict(type='mmwsss.StanfordDogsWSOLDataset', data_root='data/StanfordDogs', split='train'))
val_dataloader = dict(
    dataset=dict(type='mmwsss.StanfordDogsWSOLDataset', data_root='data/StanfordDogs', split='test'))
test_dataloader = val_dataloader
