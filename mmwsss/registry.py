# Copyright (c) mmwsss contributors. All rights reserved.
"""Registries of mmwsss.

Every registry is a child of the matching mmengine root registry with scope
``mmwsss`` and lazy ``locations``. Configs of mmpretrain, mmseg and mmdet can
therefore refer to our components as ``mmwsss.X`` (after
``custom_imports=dict(imports=['mmwsss'])``) while their own ``default_scope``
stays in force.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import Registry
from mmpretrain.registry import BATCH_AUGMENTS as MMPRETRAIN_BATCH_AUGMENTS

SCOPE = 'mmwsss'

#: Model components: classifiers, heads, necks, losses, data preprocessors.
MODELS = Registry(
    'model', parent=MMENGINE_MODELS, scope=SCOPE, locations=['mmwsss.models'])
#: Batch augmentations of mmpretrain's ``ClsDataPreprocessor``
#: (``batch_augments=dict(augments=dict(type='mmwsss.X'))``); mmpretrain
#: keeps them in a root registry of its own, not under mmengine's MODELS.
BATCH_AUGMENTS = Registry(
    'batch augment',
    parent=MMPRETRAIN_BATCH_AUGMENTS,
    scope=SCOPE,
    locations=['mmwsss.models'])
#: Model wrappers (distributed wrappers with custom behaviour).
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    scope=SCOPE,
    locations=['mmwsss.models'])
#: Datasets (classification, seed evaluation, pseudo-label datasets).
DATASETS = Registry(
    'dataset',
    parent=MMENGINE_DATASETS,
    scope=SCOPE,
    locations=['mmwsss.datasets'])
#: Data samplers.
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    scope=SCOPE,
    locations=['mmwsss.datasets'])
#: Data transforms.
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    scope=SCOPE,
    locations=['mmwsss.datasets.transforms'])
#: Metrics and writer evaluators.
METRICS = Registry(
    'metric',
    parent=MMENGINE_METRICS,
    scope=SCOPE,
    locations=['mmwsss.evaluation'])
#: Evaluators.
EVALUATOR = Registry(
    'evaluator',
    parent=MMENGINE_EVALUATOR,
    scope=SCOPE,
    locations=['mmwsss.evaluation'])
#: Hooks.
HOOKS = Registry(
    'hook', parent=MMENGINE_HOOKS, scope=SCOPE, locations=['mmwsss.engine'])
#: Train / val / test loops.
LOOPS = Registry(
    'loop', parent=MMENGINE_LOOPS, scope=SCOPE, locations=['mmwsss.engine'])
#: Optimizers.
OPTIMIZERS = Registry(
    'optimizer',
    parent=MMENGINE_OPTIMIZERS,
    scope=SCOPE,
    locations=['mmwsss.engine'])
#: Optimizer wrappers.
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    scope=SCOPE,
    locations=['mmwsss.engine'])
#: Optimizer wrapper constructors.
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    scope=SCOPE,
    locations=['mmwsss.engine'])
#: Parameter schedulers.
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    scope=SCOPE,
    locations=['mmwsss.engine'])
#: Task utilities (box coders, assigners, ...).
TASK_UTILS = Registry(
    'task util',
    parent=MMENGINE_TASK_UTILS,
    scope=SCOPE,
    locations=['mmwsss.models'])
#: Visualizers.
VISUALIZERS = Registry(
    'visualizer',
    parent=MMENGINE_VISUALIZERS,
    scope=SCOPE,
    locations=['mmwsss.visualization'])
#: Visualization backends.
VISBACKENDS = Registry(
    'vis_backend',
    parent=MMENGINE_VISBACKENDS,
    scope=SCOPE,
    locations=['mmwsss.visualization'])
