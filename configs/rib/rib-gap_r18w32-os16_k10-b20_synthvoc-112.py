# Ablation "RIB-GAP" (dissertation Table 3.9c): the fine-tuning loss pools
# the raw maps with global average pooling instead of GNDRP; otherwise
# ./rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py.
_base_ = ['./rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py']

model = dict(pooling='gap')
