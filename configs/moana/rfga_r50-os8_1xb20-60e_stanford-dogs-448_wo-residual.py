# RFGA "w/o R" on Stanford Dogs (RFGA Table 1 and 2, its residual ablation):
# ./rfga_r50-os8_1xb20-60e_stanford-dogs-448.py with the non-residual calibration of
# RFGA Eq. 8, X_hat = X * M (M = sigmoid(z_c + z_h + z_w), Eq. 7); data,
# schedule and RFGA's metrics unchanged.
_base_ = './rfga_r50-os8_1xb20-60e_stanford-dogs-448.py'

model = dict(neck=dict(calibration='multiply'))
