# Copyright (c) mmwsss contributors. All rights reserved.
"""Models of mmwsss: classifiers, heads, necks and their building blocks."""
from .backbones import *  # noqa: F401,F403
from .bbam import BBAM, SeedGrowingMaskHead  # noqa: F401
from .classifiers import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .irn import IRLabelGenerator, IRNet, IRNetRandomWalk  # noqa: F401
from .irn import IRNetInstanceWalk  # noqa: F401
from .necks import *  # noqa: F401,F403
from .segmentors import *  # noqa: F401,F403
