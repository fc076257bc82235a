# ./cct_r50-d8_1xb20-59k_voc12aug-321x321.py with AdvCAM's pseudo-masks for
# the 9,118 weakly labelled images: the semi-supervised row of J. Lee's
# dissertation (Table 3.3, 77.8 val / 76.9 test mIoU; CCT with IRN's: 73.2).
#   python tools/train.py configs/cct/cct_r50-d8_1xb20-59k_voc12aug-321x321-advcam.py
_base_ = ['./cct_r50-d8_1xb20-59k_voc12aug-321x321.py']

# Written by configs/advcam/irnet-rw_r50_voc12aug-advcam.py.
pseudo_mask_dir = 'work_dirs/irnet-rw_r50_voc12aug-advcam/pseudo_masks'
train_dataloader = dict(dataset=dict(pseudo_mask_dir=pseudo_mask_dir))
