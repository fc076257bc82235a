# RIB + S on SynthVOC: ./deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112-rib.py
# with the saliency rule of
# ./deeplabv2_r101-d8_1xb10-20k_voc12aug-321x321-rib-sal.py (dissertation
# §3.4, Table 3.7): a pseudo-mask pixel is ignored where the saliency map
# (binarised at 0.5) disagrees with it. SynthVOC writes saliency maps with
# --saliency (the union of the objects; --saliency-blur and --saliency-noise
# degrade them):
#   python tools/dataset_converters/generate_synthetic_voc.py data/synthvoc \
#       --saliency --saliency-blur 1.5 --saliency-noise 20 --overwrite
#   python tools/train.py configs/rib/deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112-rib-sal.py
_base_ = ['./deeplabv2_r18w32-d8_1xb10-300it_synthvoc-112x112-rib.py']

saliency_dir = 'data/synthvoc/Saliency'

# The base's training pipeline with the saliency rule right after the
# pseudo-label loading, as in the VOC config.
train_pipeline = _base_.train_pipeline[:2] + [
    dict(type='mmwsss.LoadSaliencyMap', saliency_dir=saliency_dir),
    dict(type='mmwsss.SaliencyIgnore', threshold=0.5),
] + _base_.train_pipeline[2:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
