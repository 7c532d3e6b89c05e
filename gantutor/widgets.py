"""Interactive tools for the notebooks (ipywidgets), each split in two:

* a *model* with all the logic, plain Python that tests drive without a browser;
* a thin *view* that builds the controls and draws, calling the model.

``PlaygroundModel`` / ``playground()``: break and fix a GAN on 2D data with sliders, in the spirit
of GAN Lab (Kahng et al., 2018), with the course's own code. Training runs in small chunks so
the notebook stays responsive.

``LatentExplorerModel`` / ``latent_explorer(G)``: walk between two noise vectors of an image
generator, and (conditional G) hold z fixed while the class changes.

``PruningSliderModel`` / ``pruning_slider(G, z)``: prune a generator by a chosen amount and method
(weights masked globally or per layer, channels removed) and see what it draws and what it saves.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import torch

from gantutor import losses, prune
from gantutor.data import custom_mixture, mixture
from gantutor.i18n import t
from gantutor.metrics import fid, mode_coverage
from gantutor.models import MLPDiscriminator, MLPGenerator
from gantutor.plotting import plot_samples, show_images
from gantutor.prune import count_macs
from gantutor.sampling import generate, interpolate_latents
from gantutor.train import History, train_gan

# The losses a learner picks from: every objective of the registry (gantutor.losses.LOSSES), by name.
G_LOSSES = losses.LOSSES
OPTIMIZERS = {
    "adam": lambda params, lr: torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999)),
    "sgd": lambda params, lr: torch.optim.SGD(params, lr=lr),
    "sgd + momentum": lambda params, lr: torch.optim.SGD(params, lr=lr, momentum=0.9),
}
# The hand-made mixture: 3 modes at uneven distances from each other.
HANDMADE_MEANS = ((-1.5, 0.0), (1.0, 1.2), (1.0, -1.2))
DATASETS = ("ring", "grid", "hand-made")


@dataclass(frozen=True)
class Settings:
    dataset: str = "ring"
    g_loss: str = "non-saturating"
    optimizer: str = "adam"
    lr_g: float = 1e-3
    lr_d: float = 1e-3
    d_steps: int = 1
    width: int = 64
    batch_size: int = 256
    seed: int = 0

    def validate(self) -> None:
        """Raise ValueError with a message a learner can act on."""
        for name, allowed in (("dataset", DATASETS), ("g_loss", tuple(losses.LOSSES)), ("optimizer", tuple(OPTIMIZERS))):
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        for name in ("lr_g", "lr_d"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0 < value <= 1):
                raise ValueError(f"{name} must be a learning rate in (0, 1]; got {value!r}")
        for name, low, high in (("d_steps", 1, 20), ("width", 4, 512), ("batch_size", 8, 4096)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{name} must be an integer from {low} to {high}; got {value!r}")


def _dataset(name: str):
    return custom_mixture(HANDMADE_MEANS, 0.05, name="hand-made") if name == "hand-made" else mixture(name)


class PlaygroundModel:
    """The playground's state and training logic, with no display.

    ``update(**changes)`` applies new settings mid-run: a new loss, optimiser or learning rate keeps
    the networks; a new width or seed rebuilds them; a new dataset keeps training on the new data.
    """

    def __init__(self, **settings):
        self.settings = Settings(**settings)
        self.settings.validate()
        self.data = _dataset(self.settings.dataset)
        self.reset()

    def reset(self) -> None:
        """New networks and optimisers, an empty history."""
        torch.manual_seed(self.settings.seed)
        w = self.settings.width
        self.G = MLPGenerator(2, hidden=(w, w, w))
        self.D = MLPDiscriminator(hidden=(w, w, w))
        self.history = History()
        self._make_optimizers()

    def _make_optimizers(self) -> None:
        make = OPTIMIZERS[self.settings.optimizer]
        self.opt_G = make(self.G.parameters(), self.settings.lr_g)
        self.opt_D = make(self.D.parameters(), self.settings.lr_d)

    def update(self, **changes) -> None:
        """Change settings; invalid ones raise ValueError and leave the model as it was."""
        unknown = set(changes) - set(asdict(self.settings))
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        new = replace(self.settings, **changes)
        new.validate()
        old, self.settings = self.settings, new
        if new.dataset != old.dataset:
            self.data = _dataset(new.dataset)
        if (new.width, new.seed) != (old.width, old.seed):
            self.reset()
        elif (new.optimizer, new.lr_g, new.lr_d, new.g_loss) != (old.optimizer, old.lr_g, old.lr_d, old.g_loss):
            self._make_optimizers()  # fresh optimiser state: old moments belong to another objective

    @property
    def step(self) -> int:
        return len(self.history)

    def train(self, num_steps: int = 50) -> dict:
        """Train a chunk of ``num_steps`` G steps (each after ``d_steps`` D steps); returns the last record."""
        try:
            train_gan(self.G, self.D, self.data.sample, num_steps=num_steps, batch_size=self.settings.batch_size,
                      d_steps=self.settings.d_steps, loss=self.settings.g_loss,
                      opt_G=self.opt_G, opt_D=self.opt_D, history=self.history, progress=False)
        except FloatingPointError:
            raise FloatingPointError(f"training diverged at step {self.step - 1} (a loss is NaN or inf): "
                                     "lower the learning rates, then press reset") from None
        return self.history.last()

    def samples(self, n: int = 1000) -> torch.Tensor:
        return generate(self.G, n)

    def coverage(self, n: int = 2500):
        return mode_coverage(self.samples(n), self.data)

    def generator_field(self, n: int = 150) -> tuple[torch.Tensor, torch.Tensor]:
        """Generated points and the direction G's loss pushes each one: −∇_x L_G(D(x)). Shapes (n, 2)."""
        g_loss = losses.get(self.settings.g_loss).g_loss
        x = self.samples(n).requires_grad_(True)
        (grad,) = torch.autograd.grad(g_loss(self.D(x)) * n, x)
        return x.detach(), -grad


def _playground_controls(W, s: Settings) -> dict:
    """One control per setting a learner may change mid-run, showing ``s``."""
    return {
        "dataset": W.Dropdown(options=DATASETS, value=s.dataset, description=t("data")),
        "g_loss": W.Dropdown(options=list(losses.LOSSES), value=s.g_loss, description=t("loss")),
        "optimizer": W.Dropdown(options=list(OPTIMIZERS), value=s.optimizer, description=t("optimizer")),
        "lr_g": W.FloatLogSlider(value=s.lr_g, base=10, min=-5, max=-0.5, description=t("lr G")),
        "lr_d": W.FloatLogSlider(value=s.lr_d, base=10, min=-5, max=-0.5, description=t("lr D")),
        "d_steps": W.IntSlider(value=s.d_steps, min=1, max=10, description=t("D steps")),
        "width": W.Dropdown(options=[16, 32, 64, 128, 256], value=s.width, description=t("width")),
    }


def _draw_playground(model: PlaygroundModel, view) -> None:
    """Samples over D's heat map with G's push on each, and the losses so far, into ``view``."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    with view:
        view.clear_output(wait=True)
        fig, (ax_s, ax_l) = plt.subplots(1, 2, figsize=(10, 4))
        plot_samples(model.data.sample(1000), model.samples(), model.D, ax=ax_s, bounds=model.data.bounds(),
                     title=f"step {model.step} — {model.coverage()}")
        points, push = model.generator_field()
        ax_s.quiver(points[:, 0], points[:, 1], push[:, 0], push[:, 1], color="tab:red", alpha=0.5, width=0.003)
        for key in ("d_loss", "g_loss"):
            ax_l.plot(model.history.step, getattr(model.history, key), lw=0.7, label=key)
        ax_l.set(xlabel="step", title="losses")
        ax_l.legend(fontsize=8)
        fig.tight_layout()
        display(fig)
        plt.close(fig)


def _error(err: Exception) -> str:
    return f"<b style='color:#b00'>{err}</b>"


def playground(**settings):
    """The playground widget: controls, play / pause / step, and a live view. Returns the widget.

    The model is at ``widget.model`` (a ``PlaygroundModel``).
    """
    import ipywidgets as W

    model = PlaygroundModel(**settings)
    controls = _playground_controls(W, model.settings)
    play = W.Play(interval=200, max=10**9, description=t("play"))
    step_button, reset_button = W.Button(description=t("step")), W.Button(description=t("reset"))
    message, view = W.HTML(), W.Output()

    def draw():
        _draw_playground(model, view)

    def run_chunk(*_):
        try:
            model.train(50)
            message.value = ""
        except FloatingPointError as err:
            play.playing = False
            message.value = _error(err)
        draw()

    def on_change(change):
        name = next(k for k, w in controls.items() if w is change["owner"])
        try:
            model.update(**{name: change["new"]})
            message.value = ""
        except ValueError as err:
            message.value = _error(err)
        draw()

    for w in controls.values():
        w.observe(on_change, names="value")
    play.observe(run_chunk, names="value")
    step_button.on_click(run_chunk)
    reset_button.on_click(lambda *_: (model.reset(), draw()))
    box = W.VBox([W.HBox([play, step_button, reset_button]), W.HBox(list(controls.values())[:4]),
                  W.HBox(list(controls.values())[4:]), message, view])
    box.model = model
    draw()
    return box


# --- Latent explorer ---------------------------------------------------------------------------


class LatentExplorerModel:
    """What the latent explorer shows, headless. z_a and z_b are drawn from seeds, so a pair of
    seeds names a walk that anyone can reproduce."""

    def __init__(self, G, seed_a: int = 0, seed_b: int = 1, steps: int = 10, spherical: bool = True):
        self.G, self.steps, self.spherical = G, steps, spherical
        self.set_seeds(seed_a, seed_b)

    @property
    def conditional(self) -> bool:
        return bool(getattr(self.G, "num_classes", None))

    def _z(self, seed: int) -> torch.Tensor:
        if not isinstance(seed, int) or seed < 0:
            raise ValueError(f"a seed must be an integer >= 0, got {seed!r}")
        return torch.randn(self.G.latent_dim, generator=torch.Generator().manual_seed(seed))

    def set_seeds(self, seed_a: int, seed_b: int) -> None:
        self.z_a, self.z_b = self._z(seed_a), self._z(seed_b)

    def walk(self, label: int | None = None) -> torch.Tensor:
        """G along the path from z_a to z_b, (steps, 1, H, W); ``label`` for a conditional G."""
        z = interpolate_latents(self.z_a, self.z_b, self.steps, self.spherical)
        if self.conditional:
            return generate(self.G, self.steps, z=z, labels=0 if label is None else label)
        return generate(self.G, self.steps, z=z)

    def classes(self) -> torch.Tensor:
        """A conditional G at z_a for every class, (num_classes, 1, H, W): same "style", new digit."""
        if not self.conditional:
            raise ValueError("classes() needs a conditional generator (built with num_classes)")
        k = self.G.num_classes
        return generate(self.G, k, z=self.z_a.expand(k, -1), labels=torch.arange(k))


def latent_explorer(G, **settings):
    """Sliders over the latent space of an image generator. Returns the widget (``.model`` holds
    the ``LatentExplorerModel``)."""
    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display


    model = LatentExplorerModel(G, **settings)
    seed_a, seed_b = W.BoundedIntText(value=0, min=0, max=10**6, description=t("seed A")), \
        W.BoundedIntText(value=1, min=0, max=10**6, description=t("seed B"))
    label = W.Dropdown(options=list(range(G.num_classes)), value=0, description=t("class")) if model.conditional else None
    view = W.Output()

    def draw(*_):
        model.set_seeds(seed_a.value, seed_b.value)
        rows = [("A → B", model.walk(label.value if label else None))]
        if model.conditional:
            rows.append(("z = A, every class", model.classes()))
        with view:
            view.clear_output(wait=True)
            fig, axes = plt.subplots(len(rows), 1, figsize=(8, 1.2 * len(rows)), squeeze=False)
            for ax, (title, images) in zip(axes[:, 0], rows):
                show_images(images, nrow=len(images), ax=ax, title=title)
            fig.tight_layout()
            display(fig)
            plt.close(fig)

    controls = [w for w in (seed_a, seed_b, label) if w is not None]
    for w in controls:
        w.observe(draw, names="value")
    draw()
    box = W.VBox([W.HBox(controls), view])
    box.model = model
    return box


# --- Pruning slider ----------------------------------------------------------------------------

PRUNING_METHODS = ("weights, global", "weights, per layer", "channels removed")


class PruningSliderModel:
    """What the pruning slider shows, headless: a pruned copy of an image generator at a chosen
    amount and method (no fine-tuning), its sizes, and what it draws for fixed z.

    ``real`` (test images), when given, adds the FID of ``len(z)`` samples against them — the
    same n each time, so the numbers compare with each other (not with FIDs at another n).
    """

    def __init__(self, G, z: torch.Tensor, real: torch.Tensor | None = None):

        self.G, self.z, self.real = G.eval(), z, real
        self.input_shape = (1, z.shape[1])
        self.dense_out = generate(G, len(z), z=z, device="cpu")
        self.dense_macs = count_macs(G, self.input_shape)
        self.set(0.0, PRUNING_METHODS[0])

    def set(self, amount: float, method: str) -> None:
        """Prune a fresh copy of G by ``amount`` (a fraction in [0, 1)) with ``method``."""
        import copy


        if method not in PRUNING_METHODS:
            raise ValueError(f"method must be one of {PRUNING_METHODS}, got {method!r}")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not 0 <= amount < 1:
            raise ValueError(f"amount must be a fraction in [0, 1), got {amount!r}")
        self.amount, self.method = float(amount), method
        if self.amount == 0:  # nothing to prune: the dense model itself (a mask of zeros would still add weight_mask)
            self.model = copy.deepcopy(self.G)
        elif method == "channels removed":
            self.model = prune.prune_channels(self.G, self.amount).eval()
        else:
            scope = "global" if method == "weights, global" else "layer"
            self.model = prune.magnitude_prune(copy.deepcopy(self.G), self.amount, scope=scope).eval()
        self.out = generate(self.model, len(self.z), z=self.z, device="cpu")

    def report(self) -> dict:
        """Sparsity, parameters, non-zero weights, MACs computed (and × fewer than dense) and MACs with
        a non-zero weight, file bytes (as saved, and in the sparse format), the relative change of
        the output, and the FID when ``real`` was given."""

        macs = prune.count_macs(self.model, self.input_shape)  # what dense kernels compute: masks change nothing
        row = {"sparsity": float(prune.sparsity(self.model)), "params": prune.count_params(self.model),
               "nonzeros": prune.count_nonzeros(self.model), "macs": macs, "macs_fewer": self.dense_macs / macs,
               "macs_nonzero": prune.count_macs(self.model, self.input_shape, nonzero_only=True),
               "bytes": prune.saved_bytes(self.model), "sparse_bytes": prune.sparse_bytes(self.model),
               "output_change": float((self.out - self.dense_out).norm() / self.dense_out.norm())}
        if self.real is not None:
            row["fid"] = fid(self.out, self.real)
        return row


def pruning_slider(G, z: torch.Tensor, real: torch.Tensor | None = None, show: int = 16):
    """A slider over how much of ``G`` to prune, and how: samples for fixed ``z`` beside the
    sizes, MACs and (with ``real``) the FID. Returns the widget (``.model``: ``PruningSliderModel``).
    Nothing is fine-tuned: this is the damage pruning does before any recovery (chapter 7 §3)."""
    import html

    import ipywidgets as W
    import matplotlib.pyplot as plt
    from IPython.display import display


    model = PruningSliderModel(G, z, real)
    amount = W.FloatSlider(value=0.0, min=0.0, max=0.95, step=0.05, description=t("amount"), continuous_update=False)
    method = W.Dropdown(options=PRUNING_METHODS, value=PRUNING_METHODS[0], description=t("method"))
    table, view = W.HTML(), W.Output()

    def draw(*_):
        model.set(amount.value, method.value)
        r = model.report()
        cells = [(t("sparsity"), f"{r['sparsity']:.1%}"), (t("parameters"), f"{r['params']:,}"), (t("non-zero"), f"{r['nonzeros']:,}"),
                 (t("MACs computed"), t(f"{r['macs']:,} ({r['macs_fewer']:.1f}× fewer)")),
                 (t("MACs with a non-zero weight"), f"{r['macs_nonzero']:,}"), (t("file"), f"{r['bytes']:,} B"),
                 (t("sparse file"), f"{r['sparse_bytes']:,} B"), (t("output change"), f"{r['output_change']:.1%}")]
        if "fid" in r:
            cells.append((f"FID (n = {len(z)})", f"{r['fid']:.1f}"))
        table.value = "<table>" + "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(v)}</b></td></tr>"
                                          for k, v in cells) + "</table>"
        with view:
            view.clear_output(wait=True)
            fig = show_images(model.out[:show], nrow=show, title=f"{method.value}, {amount.value:.0%}")
            display(fig)
            plt.close(fig)

    amount.observe(draw, names="value")
    method.observe(draw, names="value")
    draw()
    box = W.VBox([W.HBox([amount, method]), W.HBox([view, table])])
    box.model = model
    return box
