# Copyright (c) mmwsss contributors. All rights reserved.
"""Models of mmwsss: one package per method (``advcam``, ``bbam``, ``cct``,
``dsrg``, ``ficklenet``, ``gradcam``, ``irn``, ``moana``, ``psa``, ``rib``,
``transcam``, ``wood``, ``wsol``) and the generic parts they share, by role
(``classifiers``, ``heads``, ``data_preprocessors``, ``decode_heads``,
``segmentors``, ``utils``). Importing it registers every model component."""
from .advcam import AdvCAMClassifier  # noqa: F401
from .bbam import BBAM, SeedGrowingMaskHead  # noqa: F401
from .cct import CCTHead  # noqa: F401
from .classifiers import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .dsrg import DSRGEncoderDecoder, DSRGHead  # noqa: F401
from .ficklenet import FickleNetCAMHead, FickleNetClassifier  # noqa: F401
from .gradcam import GradCAMClassifier  # noqa: F401
from .heads import *  # noqa: F401,F403
from .irn import IRLabelGenerator, IRNet, IRNetRandomWalk  # noqa: F401
from .irn import IRNetInstanceWalk  # noqa: F401
from .moana import BaseAttentionNeck, CBAMNeck, ECANeck, MoANA  # noqa: F401
from .moana import SENeck  # noqa: F401
from .psa import AffinityNet, AffinityNetRandomWalk  # noqa: F401
from .psa import PSALabelGenerator  # noqa: F401
from .rib import DisjointImageBatches, GNDRPCAMHead  # noqa: F401
from .rib import RIBAdvCAMClassifier, RIBClassifier  # noqa: F401
from .segmentors import *  # noqa: F401,F403
from .transcam import AttnConformer, TransCAMClassifier  # noqa: F401
from .wood import WOoDClassifier  # noqa: F401
from .wsol import ACoLHead, ADLBackbone, FeatureTapBackbone  # noqa: F401
from .wsol import HideAndSeek, SPGHead, WSOLClassifier  # noqa: F401
from .wsol import WSOLCutMix, WSOLInceptionV3, WSOLVGG  # noqa: F401
