# Copyright (c) mmwsss contributors. All rights reserved.
"""High-level APIs: pipelines of tool runs (``tools/run_pipeline.py``)."""
from .pipeline import (PipelineError, Stage, load_pipeline, parse_stages,
                       select_stages, stage_fingerprint)
from .pipeline_runner import Launcher, PipelineRunner, stage_command

__all__ = [
    'PipelineError', 'Stage', 'load_pipeline', 'parse_stages',
    'select_stages', 'stage_fingerprint', 'Launcher', 'PipelineRunner',
    'stage_command'
]
