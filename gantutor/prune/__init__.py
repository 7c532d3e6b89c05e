"""Pruning and compressing (GAN) models, and measuring what it buys (chapter 7).

* ``masks``: unstructured magnitude pruning (layer-wise or global), sparsity reports, Zhu &
  Gupta's cubic schedule and a ``train_gan`` callback that prunes while training;
* ``channels``: structured pruning that removes channels for real (L1 or BatchNorm-scale
  importance) and the network-slimming penalty;
* ``lowrank``: truncated-SVD factorisation of Linear / Conv layers, rank by energy;
* ``quantize``: int8, dynamic (Linear) and static (the DCGAN generator, convolutions included);
* ``finetune``: distillation of a pruned generator from the dense one;
* ``storage``: sparse files (bitmask + values) and the Deep Compression pipeline;
* ``measure``: parameters, non-zeros, MACs, bytes on disk, CPU latency (inference and training);
* ``translator``: chapter 6's U-Net slimmed and distilled, GAN Compression style (chapter 10);
* ``onnx``: export to ONNX, checked against PyTorch, and latency in ONNX Runtime.
"""
from gantutor.prune.channels import (bn_l1_penalty, channel_groups, channel_importance, keep_in_channels, keep_norm_channels,
                                     keep_out_channels, prune_channels, zero_channels)
from gantutor.prune.masks import (GradualPruning, apply_masks, masks_of, Sparsity, cubic_schedule, dense_weight, magnitude_prune,
                                  make_permanent, prunable_layers, sparsity)
from gantutor.prune.finetune import DistillHistory, distill
from gantutor.prune.lowrank import low_rank, low_rank_model, rank_for_energy
from gantutor.prune.measure import (compare_latency, compare_train_latency, count_macs, count_nonzeros, count_params, latency_ms,
                                     saved_bytes)
from gantutor.prune.storage import (CodedWeight, DeepCompressed, deep_compress, huffman_code, huffman_decode,
                                    huffman_encode, kmeans_share, load_sparse, save_sparse, sparse_bytes)
from gantutor.prune.quantize import int8_conv_transpose_is_correct, quantize_dynamic_int8, quantize_static_int8
from gantutor.prune.translator import (FeatureRecorder, TranslatorDistillHistory, distill_translator, feature_distillation_loss,
                                       feature_projections, skip_input_channels, slim_unet)
from gantutor.prune.onnx import compare_latency_onnx, export_onnx, onnx_bytes, onnx_session, quantize_onnx_int8, run_onnx

__all__ = [
    "CodedWeight", "DeepCompressed", "DistillHistory", "GradualPruning", "Sparsity", "apply_masks", "bn_l1_penalty",
    "channel_groups", "channel_importance", "compare_latency", "compare_train_latency", "count_macs", "count_nonzeros",
    "count_params", "cubic_schedule",
    "deep_compress", "dense_weight", "distill", "huffman_code", "huffman_decode", "huffman_encode",
    "keep_in_channels", "keep_norm_channels", "keep_out_channels", "kmeans_share", "latency_ms", "load_sparse",
    "low_rank", "low_rank_model", "magnitude_prune", "make_permanent", "masks_of", "prunable_layers", "prune_channels",
    "int8_conv_transpose_is_correct", "quantize_dynamic_int8", "quantize_static_int8", "rank_for_energy", "save_sparse", "saved_bytes", "sparse_bytes",
    "sparsity", "zero_channels", "FeatureRecorder", "TranslatorDistillHistory", "distill_translator",
    "feature_distillation_loss", "feature_projections", "skip_input_channels", "slim_unet", "compare_latency_onnx", "export_onnx", "onnx_bytes",
    "onnx_session", "quantize_onnx_int8", "run_onnx",
]
