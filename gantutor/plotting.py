"""Plots of the course. Each takes an optional ``ax`` (or ``axes``) and returns the figure.

``live_plot`` is a ``train_gan`` callback that redraws the samples and the losses in a notebook
while training runs.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from gantutor import losses
from gantutor._validate import positive_int
from gantutor.sampling import generate


def _axes(ax, **subplots):
    if ax is None:
        fig, ax = plt.subplots(**subplots)
        return fig, ax
    first = np.ravel(ax)[0]
    return first.figure, ax


@torch.no_grad()
def discriminator_map(D, bounds, resolution: int = 150):
    """D(x) = sigmoid(logit) on a resolution × resolution grid over the square ``bounds``."""
    lo, hi = bounds
    axis = torch.linspace(lo, hi, resolution)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    device = next(D.parameters()).device
    was_training = D.training
    D.eval()
    probs = torch.sigmoid(D(torch.stack([xx.flatten(), yy.flatten()], 1).to(device))).cpu()
    D.train(was_training)
    return probs.reshape(resolution, resolution).numpy()  # rows: y, columns: x


def plot_samples(real, fake, D=None, ax=None, bounds=None, title=None):
    """Real (black) and generated (red) 2D points, over D's output D(x) as a heat map."""
    fig, ax = _axes(ax, figsize=(4.5, 4.5))
    real, fake = torch.as_tensor(real).cpu(), torch.as_tensor(fake).cpu()
    if bounds is None:
        r = float(torch.cat([real, fake]).abs().quantile(0.99)) * 1.2 + 0.1
        bounds = (-r, r)
    if D is not None:
        image = ax.imshow(discriminator_map(D, bounds), origin="lower", extent=(*bounds, *bounds),
                          cmap="RdBu", vmin=0, vmax=1, alpha=0.6)
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="D(x)")
    ax.scatter(real[:, 0], real[:, 1], s=4, c="black", label="real", alpha=0.6)
    ax.scatter(fake[:, 0], fake[:, 1], s=4, c="tab:red", label="generated", alpha=0.6)
    ax.set(xlim=bounds, ylim=bounds, aspect="equal", title=title or "")
    ax.legend(loc="upper right", fontsize=8, markerscale=3)
    return fig


def _smooth(values, window: int):
    values = np.asarray(values, dtype=float)
    if window <= 1 or len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_history(history, axes=None, window: int = 25):
    """Three panels: the losses, mean D(x) and D(G(z)), and the gradient norms (moving averages)."""
    fig, axes = _axes(axes, ncols=3, figsize=(13, 3.3))
    steps = np.asarray(history.step)[window - 1:] if len(history) >= window > 1 else np.asarray(history.step)
    panels = [
        (("d_loss", "D loss"), ("g_loss", "G loss")),
        (("d_real", "mean D(x)"), ("d_fake", "mean D(G(z))")),
        (("d_grad_norm", "‖∇D‖"), ("g_grad_norm", "‖∇G‖")),
    ]
    for ax, panel in zip(axes, panels):
        for key, label in panel:
            ax.plot(steps, _smooth(getattr(history, key), window), label=label)
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    axes[0].set_title("losses")
    axes[1].axhline(0.5, color="gray", lw=0.8, ls="--")
    axes[1].set(title="discriminator outputs", ylim=(0, 1))
    axes[2].set(title="gradient norms", yscale="log")
    fig.tight_layout()
    return fig


def generator_loss_gradients(d_values):
    """|∂L_G/∂logit| of the minimax and the non-saturating loss at D(G(z)) = ``d_values`` (autograd)."""
    d = torch.as_tensor(d_values, dtype=torch.float64)
    logits = torch.logit(d).requires_grad_(True)
    out = {}
    for name, loss in (("minimax", losses.generator_loss_minimax), ("non-saturating", losses.generator_loss_nonsaturating)):
        (grad,) = torch.autograd.grad(loss(logits) * len(logits), logits)  # × N undoes the mean: per-sample gradient
        out[name] = grad.abs()
    return out


def plot_generator_gradients(ax=None):
    """How hard each generator loss pushes, as a function of D(G(z)): saturating vs non-saturating."""
    fig, ax = _axes(ax, figsize=(5, 3.5))
    d = np.linspace(0.001, 0.999, 400)
    for name, grad in generator_loss_gradients(d).items():
        ax.plot(d, grad.numpy(), label=name)
    ax.axvspan(0, 0.1, color="gray", alpha=0.15, label="start of training")
    ax.set(xlabel="D(G(z))", ylabel="|∂ L_G / ∂ logit|", title="generator gradient vs D's verdict")
    ax.legend(fontsize=8)
    return fig


def live_plot(sample_real, every: int = 500, n: int = 1000, bounds=None):
    """A ``train_gan`` callback that redraws samples over D's map and the losses every ``every`` steps.

    In a notebook it updates one figure in place; elsewhere it does nothing.
    """
    from IPython import get_ipython
    from IPython.display import display


    state = {"handle": None}
    real = sample_real(n).cpu()

    def callback(step, G, D, history):
        if get_ipython() is None or (step + 1) % every:
            return
        fig, (ax_s, ax_l) = plt.subplots(1, 2, figsize=(10, 4))
        plot_samples(real, generate(G, n), D, ax=ax_s, bounds=bounds, title=f"step {step + 1}")
        for key in ("d_loss", "g_loss"):
            ax_l.plot(history.step, getattr(history, key), label=key, lw=0.6)
        ax_l.set(xlabel="step", title="losses")
        ax_l.legend()
        fig.tight_layout()
        if state["handle"] is None:
            state["handle"] = display(fig, display_id=True)
        else:
            state["handle"].update(fig)
        plt.close(fig)

    return callback


# --- Images --------------------------------------------------------------------------------------


def image_grid(images, nrow: int = 8, padding: int = 2) -> np.ndarray:
    """Images (N, C, H, W) in [−1, 1] tiled into one picture (torchvision's ``make_grid``),
    as an (H', W', 3) array in [0, 1] ready for ``imshow``."""
    from torchvision.utils import make_grid

    x = torch.as_tensor(images).detach().float().cpu()
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise ValueError(f"images must have shape (N, 1 or 3, H, W), got {tuple(x.shape)}")
    grid = make_grid((x.clamp(-1, 1) + 1) / 2, nrow=nrow, padding=padding, pad_value=1.0)  # (3, H', W')
    return grid.permute(1, 2, 0).numpy()


def show_images(images, nrow: int = 8, ax=None, title=None):
    """Draw ``image_grid(images, nrow)`` without axes; returns the figure."""
    grid = image_grid(images, nrow)
    fig, ax = _axes(ax, figsize=(grid.shape[1] / 40, grid.shape[0] / 40 + (0.3 if title else 0)))
    ax.imshow(grid, interpolation="nearest")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=9)
    return fig


class SampleGrid:
    """A ``train_gan`` callback that redraws a grid of G's samples every ``every`` steps.

    The noise is fixed (drawn once from ``seed``), so each cell follows one z through training.
    For a conditional G each row is one class. ``model`` draws from another network than the one
    being trained (e.g. ``EMA(G).model``). ``self.grids`` keeps (step, images) of every refresh;
    in a notebook the picture updates in place, elsewhere nothing is drawn.
    """

    def __init__(self, every: int = 200, n: int = 40, nrow: int = 10, seed: int = 0, model=None):

        self.every, self.n, self.nrow = positive_int(every, "every"), positive_int(n, "n"), positive_int(nrow, "nrow")
        self.seed, self.model = seed, model
        self.grids, self._handle = [], None

    def __call__(self, step, G, D, history) -> None:
        if (step + 1) % self.every:
            return

        G = self.model if self.model is not None else G
        z = torch.randn(self.n, G.latent_dim, generator=torch.Generator().manual_seed(self.seed))
        labels = torch.arange(self.n) // self.nrow % G.num_classes if getattr(G, "num_classes", None) else None
        images = generate(G, self.n, z=z, labels=labels)
        self.grids.append((step + 1, images))
        self._show(step + 1, images)

    def _show(self, step, images) -> None:
        from IPython import get_ipython
        from IPython.display import display

        if get_ipython() is None:
            return
        fig = show_images(images, self.nrow, title=f"step {step}")
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)
