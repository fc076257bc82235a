# Ablation (dissertation Table 4.5 (e)): the distance loss L_M keeps only its
# push away from the closest OoD centres (L_d on the OoD data);
# otherwise ./wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py.
_base_ = ['./wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py']

model = dict(distance_terms='push')
