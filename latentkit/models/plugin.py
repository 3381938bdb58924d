"""What a plugin is: a name, a kind, and how to build or open a model.

A plugin has at least one of two ways in:

* ``build(config) -> module``: an architecture rebuilt from a JSON config,
  whose weights then come from a latentkit checkpoint or a state dict;
* ``detect(path) -> bool`` with ``load(path, config, device, options) ->
  LoadedModel``: a file format of its own (a diffusers folder, a pythae save
  folder, a ``torch.export`` archive). ``detect`` must be cheap: a file name, a
  header, a small JSON file; no weights and no torch import.

Optionally ``describe(path) -> FormatDescription`` tells ``latentkit info``
what a file holds without loading its weights, and ``example_config`` is the
config ``latentkit plugins --check`` builds.

Plugin objects must be cheap to import: torch is imported inside ``build`` and
``load``, so listing plugins imports no heavy library. API version 1 (build
only) is still accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from latentkit.defaults import PLUGIN_API_VERSION

Kind = Literal["vae", "gan"]
KINDS: tuple[str, ...] = ("vae", "gan")


@dataclass(frozen=True)
class LoadOptions:
    """Settings a user gives when opening a model trained elsewhere.

    ``strip_prefix`` is removed from every state-dict key (``--strip-prefix``);
    ``trust_pickles`` allows formats that can only be read by running code
    stored in the file (``--trust-pickles``).
    """

    strip_prefix: str | None = None
    trust_pickles: bool = False


@dataclass
class LoadedModel:
    """What a plugin's ``load`` returns: the module (eval mode, on the device) and
    the config and metadata that describe it; ``notes`` are shown to the user
    (for example a key prefix that was detected and stripped)."""

    model: Any
    config: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    format: str | None = None  # a short name of the format; the plugin's first format if None
    files: tuple[Path, ...] = ()  # the files the model was read from (its content hash covers these)


@dataclass(frozen=True)
class FormatDescription:
    """What ``latentkit info`` shows for a file, read without its weights where possible.

    ``latent_shape`` is the shape of one latent code (``(10,)`` or ``(4, 8, 8)``);
    ``files`` maps each file that makes up the model to its size in bytes.
    """

    format: str
    kind: str | None
    latent_shape: tuple[int, ...] | None
    parameter_count: int | None
    config: dict[str, Any] | None = None
    files: Mapping[str, int] = field(default_factory=dict)
    metadata: Mapping[str, str] = field(default_factory=dict)
    tensors: tuple[Any, ...] = ()  # TensorInfo rows when the format lists them cheaply
    notes: tuple[str, ...] = ()

    @property
    def size(self) -> int:
        return sum(self.files.values())


@dataclass(frozen=True)
class Plugin:
    """A named architecture or format.

    ``build(config)`` returns a module that satisfies
    :class:`~latentkit.models.protocols.VAEModel` (kind ``"vae"``) or
    :class:`~latentkit.models.protocols.GANModel` (kind ``"gan"``); ``config``
    is the JSON object stored in a checkpoint's ``latentkit.config`` header.
    ``detect``/``load``/``describe`` open a format of the plugin's own;
    ``formats`` names those formats for ``latentkit plugins``.
    """

    name: str
    kind: Kind
    build: Callable[[dict[str, Any]], Any] | None = None
    api_version: int = PLUGIN_API_VERSION
    description: str = ""
    detect: Callable[[Path], bool] | None = None
    load: Callable[[Path, dict[str, Any] | None, str, LoadOptions], LoadedModel] | None = None
    describe: Callable[[Path], FormatDescription] | None = None
    formats: tuple[str, ...] = ()
    example_config: dict[str, Any] | None = None
