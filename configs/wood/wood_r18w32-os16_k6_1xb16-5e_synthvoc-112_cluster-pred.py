# Ablation (dissertation Table 4.4): the OoD clusters are the OoD images
# grouped by the class the initial classifier predicts for them (one per
# class, so K = 6) instead of K-means; otherwise
# ./wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py.
_base_ = ['./wood_r18w32-os16_k12_1xb16-5e_synthvoc-112.py']

model = dict(num_ood_clusters={{_base_.num_classes}})

custom_hooks = [
    dict(_base_.custom_hooks[0], ood_clustering='predicted_class')
]
