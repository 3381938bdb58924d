"""What a plugin is: a name, a kind and a factory that builds an ``nn.Module``.

Plugin objects must be cheap to import: torch is imported inside ``build``, so
listing plugins imports no heavy library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from latentkit.defaults import PLUGIN_API_VERSION

Kind = Literal["vae", "gan"]
KINDS: tuple[str, ...] = ("vae", "gan")


@dataclass(frozen=True)
class Plugin:
    """A named architecture: ``build(config)`` returns a module that satisfies
    :class:`~latentkit.models.protocols.VAEModel` (kind ``"vae"``) or
    :class:`~latentkit.models.protocols.GANModel` (kind ``"gan"``).

    ``config`` is the JSON object stored in a checkpoint's ``latentkit.config``
    header: everything needed to rebuild the module before its weights load.
    """

    name: str
    kind: Kind
    build: Callable[[dict[str, Any]], Any]
    api_version: int = PLUGIN_API_VERSION
    description: str = ""
