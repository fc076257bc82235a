# Ablation (dissertation Table 3.9a): fine-tuned with the BCE on the affine
# softsign, (softsign(z) + 1) / 2, instead of RIB's loss (set
# model.loss_activation to 'sigmoid' or 'tanh' for the other rows); otherwise
# ./rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py. The learning rate is the
# base config's; the paper does not give the one of the BCE runs.
_base_ = ['./rib-gndrp_r18w32-os16_k10-b20_synthvoc-112.py']

model = dict(loss_activation='softsign')
