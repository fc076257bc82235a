# SynthVOC version of dissertation Table 4.7's full chain (VOC:
# ./irn_r50_voc12aug-wood-advcam-rib.py), CPU-sized: SynthVOC -> CAM
# classifier -> W-OoD fine-tuning with the OoD split -> one CAM job on the
# W-OoD classifier, RIB's per-image fine-tuning then AdvCAM's climbing
# (configs/rib/advcam-rib_r18w32-os16_k10-b20_synthvoc-112.py) -> IRN with
# SynthVOC's settings (W-OoD's 0.30 / 0.15, CAM^1.5, 0.22 are VOC's) ->
# DeepLab-v2 trained on the pseudo-masks, tested on val.
#   python tools/run_pipeline.py configs/pipelines/irn_r18w32_synthvoc-wood-advcam-rib.py
_base_ = ['./_base_/irn_synthvoc.py']

stages = dict(
    synthvoc=_base_.synthvoc,
    **_base_.wood_stages,
    cams=dict(
        _base_.wood_cams,
        config='configs/rib/advcam-rib_r18w32-os16_k10-b20_synthvoc-112.py',
        cfg_options=dict(
            _base_.wood_cams['cfg_options'],
            **{'model.rib_data.dataset.data_root': _base_.data})),
    **_base_.irn_stages)
