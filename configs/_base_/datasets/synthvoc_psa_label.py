# SynthVOC la/ha labels from the CAMs of
# configs/cam/cam_r18w32-os16_1xb16-20e_synthvoc-112.py (train split).
_base_ = ['./synthvoc_ir_label.py']

ir_label_dir = '{work_dir}/psa_labels'
test_evaluator = [
    dict(type='mmwsss.IRLabelWriter', output_dir=ir_label_dir),
    dict(type='mmwsss.IRLabelMetric'),
]
