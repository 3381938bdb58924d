"""The catalogue of figures: every number latentkit reports, by a stable dotted name.

A figure names a number (or a per-dimension vector) in a command's JSON: its
description, unit, direction (``higher`` or ``lower`` is better, or ``none``
where neither is), the analysis that produces it, and where it sits in the
envelope's ``results``. ``check`` gates on these names, ``report`` lays out its
sections by them, and the README's figure table is generated from
:func:`markdown_table` (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from latentkit.analysis.registry import METRICS, Direction
from latentkit.errors import LatentkitError

Shape = Literal["scalar", "per_dim"]


@dataclass(frozen=True)
class Figure:
    """A catalogue entry. ``analysis`` is the unit of work that produces it: ``kl``,
    ``disentangle:<metric>``, ``interpolate``, ``traverse`` or ``umap``; ``command``
    is the command whose JSON holds it, at ``results`` + ``path``."""

    name: str
    description: str
    unit: str
    direction: Direction
    analysis: str
    command: str
    path: tuple[str, ...]
    shape: Shape = "scalar"
    reader: Callable[[Any], Any] | None = None  # applied to the value at ``path``

    def read(self, document: dict[str, Any]) -> Any:
        """This figure's value in ``document``: a JSON document of this figure's command, or a
        ``latentkit report`` document (which holds each command's results under ``results.<section>``)."""
        if document.get("schema") == "latentkit.report":
            document = _report_block(document, self)
        if document.get("schema") != f"latentkit.{self.command}":
            raise KeyError(f"{self.name} is not in a {document.get('schema')} document")
        value: Any = document["results"]
        for key in self.path:
            if not isinstance(value, dict) or key not in value:
                raise KeyError(f"{self.name} is missing from this {self.command} document")
            value = value[key]
        return self.reader(value) if self.reader is not None and value is not None else value


# where a ``latentkit report`` document keeps each command's settings and results
_REPORT_SECTIONS = {"kl-report": "kl", "disentangle": "disentangle", "interpolate": "interpolate",
                    "traverse": "traverse", "umap": "projection"}  # fmt: skip


def _report_block(document: dict[str, Any], fig: Figure) -> dict[str, Any]:
    """The part of a report document that ``fig``'s command wrote, in that command's own layout."""
    block = (document.get("results") or {}).get(_REPORT_SECTIONS.get(fig.command, ""))
    if not isinstance(block, dict):
        raise KeyError(f"{fig.name} is missing from this report (its {fig.command} analysis did not run)")
    method = (block.get("settings") or {}).get("method")
    if fig.command == "umap" and method not in (None, "umap"):
        raise KeyError(f"{fig.name} is missing from this report (its projection is {method}, not umap)")
    return {"schema": f"latentkit.{fig.command}", "results": block.get("results") or {}}


def _interpolate_figures() -> list[Figure]:
    figures = []
    for mode in ("lerp", "slerp"):
        figures += [
            Figure(
                f"interpolate.{mode}.smoothness_mean",
                f"{mode}: mean squared pixel difference between consecutive decoded steps, averaged over paths",
                "MSD (pixels in [0, 1])", "lower", "interpolate", "interpolate", ("modes", mode, "smoothness", "mean"),
            ),
            Figure(
                f"interpolate.{mode}.smoothness_max",
                f"{mode}: largest step of each path (as above), averaged over paths",
                "MSD (pixels in [0, 1])", "lower", "interpolate", "interpolate", ("modes", mode, "smoothness", "max"),
            ),
            Figure(
                f"interpolate.{mode}.norm_ratio",
                f"{mode}: mean latent norm along the paths over the prior's typical norm √d (1 = typical)",
                "ratio", "none", "interpolate", "interpolate", ("modes", mode, "norm_ratio"),
            ),
        ]  # fmt: skip
    return figures


FIGURES: tuple[Figure, ...] = (
    Figure("kl.total", "Sum over dimensions of the average KL(q(z_i|x) ‖ N(0, 1)) over the data",
           "nats", "none", "kl", "kl-report", ("kl", "total")),
    Figure("kl.per_dim", "Average KL(q(z_i|x) ‖ N(0, 1)) of each latent dimension (of a spatial latent: each channel, summed over positions)",
           "nats", "none", "kl", "kl-report", ("kl", "per_dim"), "per_dim"),
    Figure("active_units", "Dimensions whose posterior mean varies over the data: Cov_x(E[z_i|x]) > threshold (Burda et al. 2016)",
           "count", "higher", "kl", "kl-report", ("active_units",)),
    Figure("collapsed_units", "Dimensions that are not active (posterior collapse)",
           "count", "lower", "kl", "kl-report", ("collapsed_units",)),
    Figure("latent_scale.scaling_factor", "1 / std of latents sampled from the posterior: the factor that makes them unit-variance",
           "factor", "none", "kl", "kl-report", ("scale", "implied", "scaling_factor")),
    Figure("latent_scale.shift_factor", "Mean of latents sampled from the posterior (the shift that centres them)",
           "latent units", "none", "kl", "kl-report", ("scale", "implied", "shift_factor")),
    Figure("latent_scale.latents_mean", "Per channel: mean of latents sampled from the posterior, over data and positions",
           "latent units", "none", "kl", "kl-report", ("scale", "implied", "latents_mean"), "per_dim"),
    Figure("latent_scale.latents_std", "Per channel: std of latents sampled from the posterior, over data and positions",
           "latent units", "none", "kl", "kl-report", ("scale", "implied", "latents_std"), "per_dim"),
    Figure("latent_scale.noise_share", "Per channel: E[σ²] / Var[z], the posterior noise's share of the latents' variance (near 0: KL says little about usage)",
           "ratio", "none", "kl", "kl-report", ("scale", "noise_share"), "per_dim"),
    *(
        Figure(score.name, score.description, score.unit, score.direction, f"disentangle:{metric.name}",
               "disentangle", ("scores", score.name))
        for metric in METRICS.values()
        for score in metric.scores
    ),
    *_interpolate_figures(),
    Figure("traverse.sensitivity", "Mean squared change of the decoded output per unit change of each dimension",
           "MSD per unit²", "none", "traverse", "traverse", ("dimensions", "sensitivity"), "per_dim"),
    Figure("traverse.decoder_ignored", "Dimensions the decoder ignores (sensitivity under 1% of the largest, or under 1e-4)",
           "count", "lower", "traverse", "traverse", ("dimensions", "decoder_ignores"), reader=len),
    Figure("umap.trustworthiness", "Trustworthiness of the 2-D projection (Venna & Kaski 2001; 1 = every neighbour shown is real)",
           "score in [0, 1]", "higher", "umap", "umap", ("trustworthiness", "value")),
)  # fmt: skip

_BY_NAME = {f.name: f for f in FIGURES}


def names() -> list[str]:
    return [f.name for f in FIGURES]


def figure(name: str) -> Figure:
    """The catalogue entry ``name``; an unknown name is an error that lists the valid ones."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise LatentkitError(
            f"unknown figure {name!r}", fix=f"use one of: {', '.join(names())}"
        ) from None


def read_figure(name: str, document: dict[str, Any]) -> Any:
    """The value of figure ``name`` in a command's JSON ``document``."""
    return figure(name).read(document)


def markdown_table() -> str:
    """The README's figure table, generated from the catalogue."""
    lines = ["| figure | unit | better | produced by | meaning |", "| --- | --- | --- | --- | --- |"]
    for f in FIGURES:
        better = {"higher": "higher", "lower": "lower", "none": "—"}[f.direction]
        unit = f.unit + (" per dimension" if f.shape == "per_dim" else "")
        description = f.description.replace("|", "\\|")  # a bar inside a cell ends it
        lines.append(f"| `{f.name}` | {unit} | {better} | `{f.command}` | {description} |")
    return "\n".join(lines) + "\n"
