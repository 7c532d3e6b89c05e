"""Exercise checks with feedback a learner can act on.

A check runs the learner's function on hidden cases and compares it with the package's reference.
On success it prints one line. On failure it raises ``CheckFailure`` (an AssertionError) that
shows the input, the expected and the actual value, and a hint. When the answer matches a known
mistake (a flipped sign, swapped labels, a sigmoid applied twice, a missing ``detach``) the hint
names that mistake. A stub that still raises NotImplementedError is reported as "not done yet".
Checks test behaviour (values, shapes, gradient flow), never the source text.

One module per chapter group (``minimax``: 1; ``dynamics``: 2–3; ``images``: 4–5;
``translation``: 6; ``pruning``: 7; ``interview``: the drills of 8; ``compression``: 10) over the shared machinery of ``_core``; every check is importable from here.
"""
from __future__ import annotations

from gantutor.checks._core import CheckFailure, exercise, show_failure
from gantutor.checks.minimax import (
    check_discriminator_loss,
    check_generator_loss_nonsaturating,
    check_sample_noise,
    check_optimal_discriminator,
    check_training_step,
)
from gantutor.checks.dynamics import (
    check_gda_step,
    check_extragradient_step,
    check_count_modes,
    check_pack,
    check_gradient_penalty,
    check_unrolled_parameters,
)
from gantutor.checks.images import (
    check_convtranspose_size,
    check_dcgan_generator,
    check_frechet_distance,
    check_hinge_discriminator_loss,
    check_image_gradient_penalty,
    ConditionalGeneratorSkeleton,
    check_conditional_forward,
)
from gantutor.checks.translation import (
    check_unet_skip,
    check_receptive_field,
    check_cycle_consistency_loss,
    check_image_pool,
    check_pix2pix_generator_loss,
)

from gantutor.checks.pruning import (
    check_global_magnitude_mask,
    check_cubic_schedule,
    check_remove_channels,
    check_low_rank,
    check_count_macs,
)
from gantutor.checks.compression import check_feature_distillation_loss, check_skip_input_channels
from gantutor.checks.interview import (
    check_drill_training_step,
    check_drill_global_pruning,
    check_drill_gradient_penalty,
    check_drill_cycle_loss,
    check_drill_frechet_distance,
    check_prune_rows,
    check_drill_fixed_training_step,
)

__all__ = [
    "CheckFailure",
    "exercise",
    "show_failure",
    "check_drill_training_step",
    "check_drill_global_pruning",
    "check_drill_gradient_penalty",
    "check_drill_cycle_loss",
    "check_drill_frechet_distance",
    "check_prune_rows",
    "check_drill_fixed_training_step",
    "check_discriminator_loss",
    "check_generator_loss_nonsaturating",
    "check_sample_noise",
    "check_optimal_discriminator",
    "check_training_step",
    "check_gda_step",
    "check_extragradient_step",
    "check_count_modes",
    "check_pack",
    "check_gradient_penalty",
    "check_unrolled_parameters",
    "check_convtranspose_size",
    "check_dcgan_generator",
    "check_frechet_distance",
    "check_hinge_discriminator_loss",
    "check_image_gradient_penalty",
    "ConditionalGeneratorSkeleton",
    "check_conditional_forward",
    "check_unet_skip",
    "check_receptive_field",
    "check_cycle_consistency_loss",
    "check_image_pool",
    "check_pix2pix_generator_loss",
    "check_global_magnitude_mask",
    "check_cubic_schedule",
    "check_remove_channels",
    "check_low_rank",
    "check_count_macs",
    "check_feature_distillation_loss",
    "check_skip_input_channels",
]
