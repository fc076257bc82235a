# The CAM row of RFGA Table 1 (CUB): the RFGA recipe of
# rfga_r50-os8_1xb20-60e_cub-448.py (600 -> 448 crop, batch 20, 60 epochs)
# without the attention module, evaluated with RFGA's metrics
# (WSOLMetric protocol='rfga').
_base_ = './rfga_r50-os8_1xb20-60e_cub-448.py'

model = dict(neck=None)
