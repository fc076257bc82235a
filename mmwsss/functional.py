# Copyright (c) mmwsss contributors. All rights reserved.
"""The public array-in/array-out API of mmwsss (like ``torch.nn.functional``).

The implementations live next to the components that use them; this module
re-exports them under stable names. See ``docs/functional_api.md``.
"""
# isort: off
# --- CAM seeds ---
from .models.utils.cam import merge_multiscale_cams
from .models.utils.cam import scaled_size
from .models.utils.cam import strided_size
from .evaluation.functional.seed_metrics import cam_seed_confusion
from .evaluation.functional.seed_metrics import cam_seed_confusions
from .evaluation.functional.seed_metrics import segmentation_scores
# --- WSOL ---
from .evaluation.functional.wsol import normalize_scoremap
from .evaluation.functional.wsol import resize_box
from .evaluation.functional.wsol import box_iou_inclusive
from .evaluation.functional.wsol import boxes_from_scoremap
from .evaluation.functional.wsol import max_box_accuracy
from .evaluation.functional.wsol import pxap
from .evaluation.functional.wsol import pxap_histograms
from .evaluation.functional.wsol import pxap_from_histograms
from .evaluation.functional.wsol import pxap_gt_mask
from .evaluation.functional.wsol import topk_correct
from .evaluation.functional.wsol import topk_localization
from .evaluation.functional.wsol import best_mean_iou
from .models.wsol.has import hide_and_seek
from .models.wsol.cutmix import cutmix_box
from .models.wsol.cutmix import cutmix
from .models.wsol.adl import adl_maps
from .models.wsol.adl import adl_use_drop_mask
from .models.wsol.adl import adl
from .models.wsol.acol import minmax_normalize_maps
from .models.wsol.acol import acol_erase_mask
from .models.wsol.acol import acol_fused_maps
from .models.wsol.spg import spg_attention
from .models.wsol.spg import spg_mask
from .models.wsol.spg import spg_guidance_losses
# --- IRNet ---
from .models.irn.path_index import PathIndex
from .models.irn.path_index import get_path_index
from .models.irn.path_index import affinity_labels
from .models.irn.path_index import edge_to_affinity
from .models.irn.path_index import pair_displacement
from .models.irn.losses import irn_losses
from .models.irn.random_walk import transition_matrix
from .models.irn.random_walk import random_walk
from .models.irn.random_walk import upsample_rw
from .models.irn.random_walk import rw_to_semantic_label
from .models.irn.ir_label import cams_to_ir_label
from .models.irn.ir_label import dense_crf_label
from .models.irn.instance import find_centroids
from .models.irn.instance import cluster_centroids
from .models.irn.instance import instance_labels
from .evaluation.functional.instance_masks import coco_mask_ap
from .evaluation.functional.instance_masks import voc_instance_ap
# --- PSA / AffinityNet ---
from .models.psa.functional import psa_pair_order
from .models.psa.functional import psa_pair_indices
from .models.psa.functional import psa_affinity_labels
from .models.psa.functional import psa_pair_affinity
from .models.psa.functional import psa_affinity_loss
from .models.psa.functional import psa_scores_with_background
from .models.psa.functional import psa_crf_scores
from .models.psa.functional import psa_label_from_scores
from .models.psa.functional import psa_la_ha_label
from .models.psa.functional import psa_pool_scores
from .models.psa.functional import psa_transition_matrix
from .models.psa.functional import psa_random_walk
from .models.psa.functional import psa_rw_to_label
# --- BBAM ---
from .models.bbam.mask import tv_norm
from .models.bbam.mask import bbam_stride
from .models.bbam.mask import init_bbam_mask
from .models.bbam.mask import perturb_with_mask
from .models.bbam.mask import bbam_loss
from .models.bbam.proposals import sample_jitter_draws
from .models.bbam.proposals import jitter_boxes
from .models.bbam.proposals import select_positive_proposals
from .models.bbam.pseudo_labels import bbam_to_soft_mask
from .models.bbam.pseudo_labels import bbam_dense_crf
from .models.bbam.pseudo_labels import bbam_to_instance_mask
from .models.bbam.pseudo_labels import merge_semantic_labels
from .models.bbam.mcg import mcg_refine_mask
from .models.bbam.losses import seed_growing_targets
from .models.bbam.losses import seed_growing_mask_loss
# --- Refiners and training-time methods ---
from .models.advcam.functional import advcam_gradcam_regions
from .models.advcam.functional import advcam_analytic_regions
from .models.advcam.functional import advcam_objective
from .models.advcam.functional import adversarial_climb_step
from .models.advcam.functional import adversarial_climbing
from .models.advcam.functional import advcam_scale_schedule
from .models.advcam.functional import advcam_multiscale_cams
from .models.rib.functional import gndrp_pool
from .models.rib.functional import gndrp_logits
from .models.rib.functional import rib_loss
from .models.rib.functional import rib_target_stop
from .models.rib.functional import rib_explosion_stop
from .models.rib.functional import disjoint_image_indices
from .models.rib.functional import rib_poly_lr
from .models.ficklenet.functional import expand_windows
from .models.ficklenet.functional import window_dropout_mask
from .models.ficklenet.functional import ficklenet_conv
from .models.ficklenet.functional import ficklenet_conv_naive
from .models.ficklenet.functional import aggregate_cam_draws
from .models.wood.functional import kmeans
from .models.wood.functional import wood_class_centers
from .models.wood.functional import ood_distance_threshold
from .models.wood.functional import wood_distance_loss
from .models.wood.functional import wood_perturb_ood
from .models.wood.functional import wood_ood_loss
from .models.wood.functional import wood_losses
from .models.transcam.functional import AttentionAccumulator
from .models.transcam.functional import transcam_cam
from .models.transcam.functional import bnr_refine
from .models.transcam.functional import transcam_losses
from .models.transcam.functional import fuse_transcam_cams
from .models.transcam.functional import normalize_transcam_inference
from .models.transcam.functional import transcam_seed_label
from .models.dsrg.functional import dsrg_softmax
from .models.dsrg.functional import balanced_seed_loss
from .models.dsrg.functional import sec_seed_loss
from .models.dsrg.functional import constrain_loss
from .models.dsrg.functional import crf_image
from .models.dsrg.functional import dsrg_crf_refine
from .models.dsrg.functional import dsrg_crf_log
from .models.dsrg.functional import dsrg_label_map
from .models.dsrg.functional import dsrg_region_growing
from .models.dsrg.functional import seed_label_to_cues
from .models.dsrg.functional import dsrg_seed_label
from .models.dsrg.functional import dsrg_grow_batch
from .datasets.transforms.saliency import saliency_ignore
# isort: on

__all__ = [name for name in dir() if not name.startswith('_')]
