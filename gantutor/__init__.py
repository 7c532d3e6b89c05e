"""gantutor: a hands-on course on GANs and on pruning/compressing them.

The package holds everything the notebooks run: data, models, losses, the training loop,
metrics, theory helpers, plots, exercise checks. Notebooks import it; they never redefine it.
"""
from gantutor.runs import default_device, seed_everything

__version__ = "0.1.0"
__all__ = ["default_device", "seed_everything", "__version__"]
