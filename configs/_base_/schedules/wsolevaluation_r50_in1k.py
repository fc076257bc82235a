# Training schedule of the wsolevaluation protocol for ResNet-50 on ILSVRC:
# the CUB recipe (wsolevaluation_r50_cub.py) over 10 epochs with lr x0.1
# every 3 epochs. The base lr is set by each method's config.
_base_ = ['./wsolevaluation_r50_cub.py']

max_epochs = 10
param_scheduler = dict(step_size=3)
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
