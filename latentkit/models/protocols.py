"""The two small protocols every model satisfies, and the generator view of a VAE.

Tensors are float32; images are NCHW (or flat for flat data) with values in
[0, 1]. Both protocols are runtime-checkable so a loaded module can be checked
against its declared kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch


@runtime_checkable
class VAEModel(Protocol):
    """A VAE with a diagonal Gaussian posterior and the prior N(0, I).

    ``encode(x)`` returns ``(mean, logvar)`` of q(z|x), each (B, latent_dim),
    or (B, *latent_shape) for a latent with positions. ``decode(z)`` takes z of
    that same shape and returns the *mean* of p(x|z) as an image in [0, 1] (for
    a Bernoulli decoder, the sigmoid of its logits), not a sample.

    Optional attributes (see :func:`latent_shape_of` and
    :func:`~latentkit.analysis.latent_scale.model_normalization`):

    * ``latent_shape``: one item's latent shape, channels first, e.g. ``(4, 8, 8)``
      (default ``(latent_dim,)``). The encoder's output decides the positions
      (they follow the input size); this declared shape is used where no data
      is encoded (prior samples) and its channel count is checked.
    * ``latent_normalization``: a mapping with any of ``scaling_factor``,
      ``shift_factor`` (floats), ``latents_mean``, ``latents_std`` (one value per
      channel): the normalisation the model's users apply, ``(z − shift) ·
      scaling_factor``, compared by ``kl-report`` with the one the data imply.
    """

    latent_dim: int

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...

    def decode(self, z: torch.Tensor) -> torch.Tensor: ...


@runtime_checkable
class GANModel(Protocol):
    """A generator: ``sample_latent(n, generator)`` draws latent codes (standard
    normal unless the plugin says otherwise) and ``generate(z)`` maps them to
    images in [0, 1]."""

    latent_dim: int

    def sample_latent(self, n: int, generator: torch.Generator) -> torch.Tensor: ...

    def generate(self, z: torch.Tensor) -> torch.Tensor: ...


class VAEGeneratorView:
    """A VAE seen as a generator (prior sample + decode), so every figure command
    that needs ``sample_latent``/``generate`` works on both kinds."""

    def __init__(self, vae: VAEModel) -> None:
        self.vae = vae
        self.latent_dim = vae.latent_dim

    def sample_latent(self, n: int, generator: torch.Generator) -> torch.Tensor:
        import torch

        device = next(iter(self.vae.parameters())).device if hasattr(self.vae, "parameters") else "cpu"
        z = torch.randn(n, *latent_shape_of(self.vae), generator=generator)
        return z.to(device)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        return self.vae.decode(z)


def latent_shape_of(model: VAEModel | GANModel) -> tuple[int, ...]:
    """One item's latent shape: the model's ``latent_shape`` if it declares one, else ``(latent_dim,)``."""
    shape = getattr(model, "latent_shape", None)
    if shape is None:
        return (int(model.latent_dim),)
    return tuple(int(s) for s in shape)


def check_latent_size(model: VAEModel | GANModel, plugin: str) -> None:
    """Refuse a model whose latent is empty or not a shape of positive integers (nothing to analyse)."""
    from latentkit.errors import LatentkitError

    try:
        shape = latent_shape_of(model)
    except (AttributeError, TypeError, ValueError) as exc:
        raise LatentkitError(
            f"plugin {plugin!r} built a model without a usable latent_dim/latent_shape ({exc})",
            fix="give the model an integer latent_dim (or a latent_shape, channels first)",
        ) from exc
    if not shape or min(shape) < 1:
        raise LatentkitError(
            f"plugin {plugin!r} built a model with latent shape {list(shape)}",
            fix="check --config (or the checkpoint's config): latent_dim must be 1 or more",
        )


def as_generator(model: VAEModel | GANModel) -> GANModel:
    """The generator view of ``model``: itself for a GAN, a prior view for a VAE."""
    if isinstance(model, GANModel):
        return model
    return VAEGeneratorView(model)  # type: ignore[return-value]


def output_array(value: object, what: str, fix: str, dtype: str = "float64") -> Any:
    """A plugin method's output as a numpy array: torch tensors and array-likes (numpy) are accepted.

    Anything else (None, a dict, ragged lists) is a :class:`~latentkit.errors.LatentkitError` naming
    ``what`` returned it, with ``fix``.
    """
    import numpy as np
    import torch

    from latentkit.errors import LatentkitError

    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", getattr(torch, dtype)).numpy()
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise LatentkitError(f"{what} returned {type(value).__name__}, not an array of numbers", fix=fix) from exc
    if array.ndim == 0 and not isinstance(value, (int, float, np.generic, np.ndarray)):
        raise LatentkitError(f"{what} returned {type(value).__name__}, not an array of numbers", fix=fix)
    return array
