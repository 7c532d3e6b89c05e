"""The course's exercises, in one table: the only place an exercise's number is written.

Each row says which check judges the exercise, what the learner's notebook calls the function (or
class) the check is given, which function's body the learner writes (the stub), and how many points
it is worth when a class is graded. Everything else derives from this table: the checks report
their number from it (``@exercise`` looks the check up by name), ``gantutor.course`` numbers the
exercise notebooks' stubs by it, and the tests walk it.

Chapter 8's drills reuse a chapter's check (``drill_of``) and carry the time an interviewer would
give (``minutes``).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    number: str          # "1.2": chapter, then the exercise's place in it
    check: str           # the check's name in gantutor.checks
    answer: str          # the learner's function or class, by its name in the notebook: the check is called on it
    points: int          # its weight when a class is graded
    stub: str = ""       # the function whose body the learner writes, when it is not ``answer`` (a method of it)
    drill_of: str = ""   # a drill: the chapter exercise whose check it reuses
    minutes: int = 0     # a drill: the time an interviewer would give

    @property
    def chapter(self) -> int:
        return int(self.number.split(".")[0])

    @property
    def stub_name(self) -> str:
        return self.stub or self.answer


EXERCISES: tuple[Exercise, ...] = (
    Exercise("1.1", "check_sample_noise", "sample_noise", 1),
    Exercise("1.2", "check_discriminator_loss", "discriminator_loss", 2),
    Exercise("1.3", "check_generator_loss_nonsaturating", "generator_loss_nonsaturating", 2),
    Exercise("1.4", "check_optimal_discriminator", "optimal_discriminator", 2),
    Exercise("1.5", "check_training_step", "training_step", 3),
    Exercise("2.1", "check_gda_step", "gda_step", 2),
    Exercise("2.2", "check_extragradient_step", "extragradient_step", 2),
    Exercise("3.1", "check_count_modes", "count_modes", 2),
    Exercise("3.2", "check_pack", "pack", 2),
    Exercise("3.3", "check_gradient_penalty", "gradient_penalty", 3),
    Exercise("3.4", "check_unrolled_parameters", "unrolled_parameters", 3),
    Exercise("4.1", "check_convtranspose_size", "convtranspose_size", 1),
    Exercise("4.2", "check_dcgan_generator", "make_generator", 3),
    Exercise("4.3", "check_frechet_distance", "frechet_distance", 3),
    Exercise("5.1", "check_hinge_discriminator_loss", "hinge_discriminator_loss", 2),
    Exercise("5.2", "check_image_gradient_penalty", "gradient_penalty", 2),
    Exercise("5.3", "check_conditional_forward", "ConditionalGenerator", 2, stub="forward"),
    Exercise("6.1", "check_unet_skip", "unet_skip", 1),
    Exercise("6.2", "check_receptive_field", "receptive_field", 2),
    Exercise("6.3", "check_cycle_consistency_loss", "cycle_consistency_loss", 2),
    Exercise("6.4", "check_image_pool", "ImagePool", 3, stub="query"),
    Exercise("6.5", "check_pix2pix_generator_loss", "pix2pix_generator_loss", 2),
    Exercise("7.1", "check_global_magnitude_mask", "global_magnitude_mask", 2),
    Exercise("7.2", "check_cubic_schedule", "cubic_schedule", 2),
    Exercise("7.3", "check_remove_channels", "remove_channels", 3),
    Exercise("7.4", "check_low_rank", "low_rank_factors", 2),
    Exercise("7.5", "check_count_macs", "count_macs", 2),
    Exercise("8.1", "check_drill_training_step", "training_step", 3, drill_of="1.5", minutes=10),
    Exercise("8.2", "check_drill_global_pruning", "global_magnitude_mask", 2, drill_of="7.1", minutes=10),
    Exercise("8.3", "check_drill_gradient_penalty", "gradient_penalty", 2, drill_of="5.2", minutes=10),
    Exercise("8.4", "check_drill_cycle_loss", "cycle_consistency_loss", 2, drill_of="6.3", minutes=5),
    Exercise("8.5", "check_drill_frechet_distance", "frechet_distance", 3, drill_of="4.3", minutes=15),
    Exercise("8.6", "check_prune_rows", "prune_rows", 3, minutes=15),
    Exercise("8.7", "check_drill_fixed_training_step", "fixed_training_step", 3, drill_of="1.5", minutes=10),
    Exercise("10.1", "check_feature_distillation_loss", "feature_distillation_loss", 2),
    Exercise("10.2", "check_skip_input_channels", "skip_input_channels", 2),
)


def by_number(number: str, exercises=EXERCISES) -> Exercise:
    for ex in exercises:
        if ex.number == number:
            return ex
    raise KeyError(f"no exercise {number!r}: the exercises are {', '.join(e.number for e in exercises)}")


def by_check(name: str, exercises=EXERCISES) -> Exercise:
    for ex in exercises:
        if ex.check == name:
            return ex
    raise KeyError(f"{name!r} is not in the exercise registry (gantutor/checks/registry.py): add a row for it")


def of_chapter(chapter: int, exercises=EXERCISES) -> list[Exercise]:
    return [ex for ex in exercises if ex.chapter == chapter]
