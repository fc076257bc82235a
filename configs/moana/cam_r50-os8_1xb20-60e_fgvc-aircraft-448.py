# The CAM row of RFGA Table 1 (FGVC-Aircraft): the RFGA config
# rfga_r50-os8_1xb20-60e_fgvc-aircraft-448.py without the attention module
# (same data, schedule and RFGA metrics).
_base_ = './rfga_r50-os8_1xb20-60e_fgvc-aircraft-448.py'

model = dict(neck=None)
