# Runtime of the classifier (CAM) stage: mmpretrain's, plus mmwsss' modules.
_base_ = ['mmpretrain::_base_/default_runtime.py']

custom_imports = dict(imports=['mmwsss'], allow_failed_imports=False)

# reproducible_resume: random streams that depend on (seed, epoch/iteration)
# only, so that --resume continues them exactly.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2),
    reproducible_resume=dict(type='mmwsss.ReproducibleResumeHook'))
