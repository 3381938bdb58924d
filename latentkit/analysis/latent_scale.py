"""Latent scale and shift: what normalises an autoencoder's latents to unit variance.

A latent-diffusion model is trained on ``(z − shift) · scaling_factor`` (Rombach
et al. 2022 set ``scaling_factor = 1 / std`` of the autoencoder's sampled latents
so that they have unit variance; later models add a global ``shift_factor`` or
per-channel ``latents_mean``/``latents_std``). Over the data, with the posterior
q(z|x) = N(μ(x), σ²(x)) and a sample z = μ + σ ε, the law of total variance gives
the moments of the pooled sampled latents exactly, without drawing anything::

    E[z]   = E_x[μ]
    Var[z] = Var_x(μ) + E_x[σ²]

pooled over data, positions and (for the global numbers) channels. So the implied

    shift_factor   = E[z]                 scaling_factor = 1 / sqrt(Var[z])
    latents_mean_c = E[z_c]               latents_std_c  = sqrt(Var[z_c])

are the expectation of what a script computing ``1 / z.std()`` over sampled
latents estimates, minus its sampling noise. A seeded Monte Carlo draw (one ε
per latent value per row, seeded by (seed, row) so that batching and sharding
do not change it) gives the same numbers estimated from samples, and a
mergeable bottom-k subsample of those draws per channel feeds the histograms.

References: R. Rombach, A. Blattmann, D. Lorenz, P. Esser, B. Ommer,
"High-Resolution Image Synthesis with Latent Diffusion Models", CVPR 2022, §4.3.2
and appendix G. T. F. Chan, G. H. Golub, R. J. LeVeque (1979) for the merge.
J. K. Salmon, M. A. Moraes, R. O. Dror, D. E. Shaw, "Parallel random numbers: as
easy as 1, 2, 3", SC 2011 (counter-based generators); G. L. Steele, D. Lea,
C. H. Flood, "Fast splittable pseudorandom number generators", OOPSLA 2014.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from latentkit.analysis.layout import LatentLayout
from latentkit.analysis.moments import RunningMoments

# Keys a model config may hold (diffusers' names), compared with the implied values.
NORMALIZATION_KEYS = ("scaling_factor", "shift_factor", "latents_mean", "latents_std")
# Posterior variance below this share of the latents' variance: the encoder is
# nearly deterministic, and KL mostly measures how narrow σ is.
NARROW_NOISE_SHARE = 1e-3
HISTOGRAM_BINS = 40


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function (Steele, Lea & Flood 2014): a bijective 64-bit mixer."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def counter_uniforms(seed: int, counters: np.ndarray) -> np.ndarray:
    """Uniforms in (0, 1), one per counter (any shape of non-negative ints), depending on (seed, counter) only.

    A counter-based generator (SplitMix64 of a key and the counter, after
    Salmon et al. 2011), so a value is the same whichever batch or shard asks
    for it, drawn for a whole batch in one vectorised step; numpy's generators
    would need one seeded generator per row.
    """
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        key = _splitmix64(np.array([seed % 2**64], dtype=np.uint64) * golden + np.uint64(1))
        bits = _splitmix64(key ^ _splitmix64(np.asarray(counters, dtype=np.int64).astype(np.uint64) * golden))
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _counters(rows: np.ndarray, elements: np.ndarray, size: int, stream: int) -> np.ndarray:
    """Counter of value ``elements`` (of ``size`` per row) of ``rows`` in one of three streams."""
    return (np.asarray(rows, dtype=np.int64) * size + elements) * 3 + stream


def posterior_draws(
    mean: np.ndarray, logvar: np.ndarray, rows: np.ndarray, elements: np.ndarray, *, size: int, seed: int
) -> np.ndarray:
    """Samples z = μ + σ ε of the latent values ``elements`` (flat index < ``size``) of data ``rows``;
    ``mean``/``logvar`` are those values' posterior parameters (all arrays the same shape).

    ε is standard normal by the Box–Muller transform of two counter-based
    uniforms, so each value's draw depends on (``seed``, row, element) only.
    """
    u1 = counter_uniforms(seed, _counters(rows, elements, size, 0))
    u2 = counter_uniforms(seed, _counters(rows, elements, size, 1))
    noise = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return np.asarray(mean, dtype=np.float64) + np.exp(0.5 * np.asarray(logvar, dtype=np.float64)) * noise


@dataclass
class ChannelSubsample:
    """A uniform random subsample of up to ``capacity`` values per channel, mergeable.

    Bottom-k sampling: every value carries a uniform priority and the
    ``capacity`` values with the smallest priorities are kept, so the kept set
    is the same however the stream is split and merged.
    """

    channels: int
    capacity: int
    values: np.ndarray = field(default=None)  # type: ignore[assignment]  # (C, k)
    priority: np.ndarray = field(default=None)  # type: ignore[assignment]  # (C, k)

    def __post_init__(self) -> None:
        if self.values is None:
            self.values = np.zeros((self.channels, 0))
            self.priority = np.zeros((self.channels, 0))

    def update(self, values: np.ndarray, priority: np.ndarray) -> None:
        """Offer (C, n) values with their (C, n) priorities."""
        self._keep(np.concatenate([self.values, values], axis=1), np.concatenate([self.priority, priority], axis=1))

    def merge(self, other: ChannelSubsample) -> ChannelSubsample:
        if (other.channels, other.capacity) != (self.channels, self.capacity):
            raise ValueError(
                f"cannot merge a subsample of {other.channels}×{other.capacity} into {self.channels}×{self.capacity}"
            )
        self.update(other.values, other.priority)
        return self

    def _keep(self, values: np.ndarray, priority: np.ndarray) -> None:
        if values.shape[1] > self.capacity:  # the smallest priorities, found in linear time
            keep = np.argpartition(priority, self.capacity - 1, axis=1)[:, : self.capacity]
            values, priority = np.take_along_axis(values, keep, 1), np.take_along_axis(priority, keep, 1)
        # Sorted by priority, so the kept set and its order do not depend on the merge order.
        order = np.argsort(priority, axis=1, kind="stable")
        self.values, self.priority = np.take_along_axis(values, order, 1), np.take_along_axis(priority, order, 1)


@dataclass
class LatentSampleStats:
    """A mergeable, seeded subsample of posterior samples: up to ``capacity`` sampled values per channel.

    Each (row, position) gets a uniform priority (counter-based, so the same in
    any batch or shard); the ``capacity`` (row, position) pairs of smallest
    priority are kept, the same pairs for every channel, and only the values
    that can still enter the subsample are drawn, so the cost per batch falls
    as the subsample fills.
    """

    layout: LatentLayout
    seed: int
    capacity: int
    subsample: ChannelSubsample = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.subsample is None:
            self.subsample = ChannelSubsample(self.layout.channels, self.capacity)

    def update(self, mean: np.ndarray, logvar: np.ndarray, rows: np.ndarray) -> None:
        """Fold a batch: ``mean``/``logvar`` (B, C·P) flattened, ``rows`` (B,) the rows' data indices."""
        c, p, size = self.layout.channels, self.layout.positions, self.layout.size
        rows = np.asarray(rows, dtype=np.int64)
        priority = counter_uniforms(self.seed, _counters(rows[:, None], np.arange(p)[None, :], p, 2)).ravel()
        kept = self.subsample.priority
        candidates = np.arange(len(priority))
        if kept.shape[1] >= self.capacity:  # full: only priorities below the largest kept one can enter
            candidates = np.flatnonzero(priority < kept[0, -1])
        if candidates.size > self.capacity:  # nor can any beyond the batch's own smallest ``capacity``
            candidates = np.sort(candidates[np.argpartition(priority[candidates], self.capacity - 1)[: self.capacity]])
        if candidates.size == 0:
            return
        row_of, position = candidates // p, candidates % p
        elements = np.arange(c)[:, None] * p + position[None, :]  # (C, n): every channel at these positions
        batch_rows = np.broadcast_to(row_of, elements.shape)
        values = posterior_draws(
            np.asarray(mean)[batch_rows, elements],
            np.asarray(logvar)[batch_rows, elements],
            np.broadcast_to(rows[row_of], elements.shape),
            elements,
            size=size,
            seed=self.seed,
        )
        self.subsample.update(values, np.broadcast_to(priority[candidates], values.shape))

    def merge(self, other: LatentSampleStats) -> LatentSampleStats:
        if other.layout != self.layout or other.seed != self.seed:
            raise ValueError("cannot merge sample statistics of different layouts or seeds")
        self.subsample.merge(other.subsample)
        return self


def pooled_moments(mean: np.ndarray, variance: np.ndarray, layout: LatentLayout) -> dict[str, Any]:
    """Mean and variance pooled over positions (per channel) and over everything (global).

    ``mean``/``variance`` are per latent value (C·P,) over the same rows; with
    equal counts the pooled variance is the mean of the variances plus the
    variance of the means (law of total variance).
    """
    mean = np.asarray(mean, dtype=np.float64)
    variance = np.asarray(variance, dtype=np.float64)
    channel_mean = layout.channel_mean(mean)
    spread = (mean - np.repeat(channel_mean, layout.positions)) ** 2
    channel_var = layout.channel_mean(variance + spread)
    total_mean = float(mean.mean())
    total_var = float((variance + (mean - total_mean) ** 2).mean())
    return {"channel_mean": channel_mean, "channel_var": channel_var, "mean": total_mean, "var": total_var}


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, part / whole, np.nan)


def _inverse_std(var: float) -> float:
    return 1.0 / np.sqrt(var) if var > 0 else float("inf")


@dataclass
class LatentScale:
    """Implied normalisation of a VAE's latents over a data set (see the module docstring)."""

    layout: LatentLayout
    n: int
    scaling_factor: float  # 1 / std of all sampled latent values (exact, law of total variance)
    shift_factor: float  # mean of all sampled latent values
    latents_mean: np.ndarray  # (C,) per-channel mean of sampled latents
    latents_std: np.ndarray  # (C,) per-channel std of sampled latents
    means_mean: np.ndarray  # (C,) per-channel mean of the posterior means
    means_std: np.ndarray  # (C,) per-channel std of the posterior means
    noise_share: np.ndarray  # (C,) E[σ²] / Var[z] per channel: the posterior noise's share of the variance
    sampled: dict[str, Any]  # Monte Carlo estimates from the subsample: scaling_factor, shift_factor, latents_*
    histograms: dict[str, Any]  # per channel: edges (C, bins+1), counts (C, bins), subsample size

    def to_document(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "implied": {
                "scaling_factor": self.scaling_factor,
                "shift_factor": self.shift_factor,
                "latents_mean": self.latents_mean,
                "latents_std": self.latents_std,
            },
            "posterior_means": {"mean": self.means_mean, "std": self.means_std},
            "noise_share": self.noise_share,
            "sampled": self.sampled,
        }


def latent_scale(
    means: RunningMoments, sigma2: RunningMoments, samples: LatentSampleStats, layout: LatentLayout
) -> LatentScale:
    """The implied ``scaling_factor``, shift and per-channel mean/std from the pass's statistics.

    ``means`` holds per-value moments of μ(x), ``sigma2`` of σ²(x), ``samples``
    the seeded draws; all over the same rows.
    """
    if means.count == 0:
        raise ValueError("no rows were encoded")
    of_means = pooled_moments(means.mean, means.variance(ddof=0), layout)
    noise = sigma2.mean
    total = pooled_moments(means.mean, means.variance(ddof=0) + noise, layout)
    kept = samples.subsample.values  # (C, k), the same (row, position) pairs in every channel
    edges, counts = [], []
    for values in samples.subsample.values:
        c, e = np.histogram(values, bins=HISTOGRAM_BINS)
        counts.append(c)
        edges.append(e)
    return LatentScale(
        layout=layout,
        n=means.count,
        scaling_factor=_inverse_std(total["var"]),
        shift_factor=total["mean"],
        latents_mean=total["channel_mean"],
        latents_std=np.sqrt(total["channel_var"]),
        means_mean=of_means["channel_mean"],
        means_std=np.sqrt(of_means["channel_var"]),
        noise_share=_share(layout.channel_mean(noise), total["channel_var"]),
        sampled={
            "seed": samples.seed,
            "n_per_channel": int(kept.shape[1]),
            "scaling_factor": _inverse_std(float(kept.var())) if kept.size else float("nan"),
            "shift_factor": float(kept.mean()) if kept.size else float("nan"),
            "latents_mean": kept.mean(axis=1) if kept.size else None,
            "latents_std": kept.std(axis=1) if kept.size else None,
        },
        histograms={
            "edges": np.array(edges),
            "counts": np.array(counts),
            "subsample_per_channel": int(samples.subsample.values.shape[1]),
        },
    )


def compare_with_config(scale: LatentScale, reference: Mapping[str, Any]) -> dict[str, Any]:
    """The config's normalisation values beside the implied ones, with (config − implied) / |implied|.

    ``reference`` holds any of ``NORMALIZATION_KEYS``; per-channel lists must have
    one value per channel. Also gives the std of the latents once normalised
    the config's way (1 when the config fits the data).
    """
    implied = {
        "scaling_factor": scale.scaling_factor,
        "shift_factor": scale.shift_factor,
        "latents_mean": scale.latents_mean,
        "latents_std": scale.latents_std,
    }
    out: dict[str, Any] = {}
    for key in NORMALIZATION_KEYS:
        value = reference.get(key)
        if value is None:
            continue
        given = np.asarray(value, dtype=np.float64)
        want = np.asarray(implied[key], dtype=np.float64)
        if given.shape != want.shape:
            raise ValueError(
                f"the model's {key} has shape {list(given.shape)} but the latents have {scale.layout.channels} channels"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            relative = np.where(want != 0, (given - want) / np.abs(want), np.nan)
        out[key] = {
            "config": given if given.ndim else float(given),
            "implied": want if want.ndim else float(want),
            "relative_difference": relative if relative.ndim else float(relative),
        }
    if "scaling_factor" in out and np.isfinite(scale.scaling_factor) and scale.scaling_factor > 0:
        # std of (z − shift) · scaling_factor (and / latents_std per channel when given)
        std = 1.0 / scale.scaling_factor * out["scaling_factor"]["config"]
        if "latents_std" in out:
            std = scale.latents_std * out["scaling_factor"]["config"] / out["latents_std"]["config"]
        out["normalized_std"] = std
    return out


def scale_notes(scale: LatentScale, comparison: Mapping[str, Any], active: np.ndarray) -> list[str]:
    """Warnings a user of these numbers needs (empty when nothing stands out).

    ``active`` marks the channels whose posterior mean moves with the input;
    the narrow-posterior warning looks at those only (a collapsed channel's
    posterior is the prior, as wide as can be).
    """
    notes = []
    shares = scale.noise_share[np.asarray(active, dtype=bool)]
    share = float(np.nanmean(shares)) if shares.size and np.isfinite(shares).any() else float("nan")
    if np.isfinite(share) and share < NARROW_NOISE_SHARE:
        notes.append(
            f"The posterior is nearly deterministic: over the active channels its variance is {share:.1e} of the "
            "latents' variance, so KL mostly measures how narrow σ is (−log σ²), not how much information a "
            "channel carries; judge usage by the variance of the posterior means (active units) and the latent "
            "scale instead."
        )
    if not np.isfinite(scale.scaling_factor):
        notes.append("Every sampled latent value is the same: no scaling factor normalises them.")
    if "normalized_std" in comparison:
        std = np.atleast_1d(comparison["normalized_std"])
        if np.any(np.abs(std - 1) > 0.1):
            notes.append(
                f"Normalised with the model's own values, the latents have std {', '.join(f'{s:.3g}' for s in std)} "
                "on this data (1 is the target): the config's scale does not fit this data."
            )
    return notes


def model_normalization(model: Any, config: Mapping[str, Any] | None) -> dict[str, Any]:
    """The normalisation a model declares: its ``latent_normalization`` mapping, else its config's keys."""
    declared = getattr(model, "latent_normalization", None)
    source = declared if isinstance(declared, Mapping) else (config or {})
    return {key: source[key] for key in NORMALIZATION_KEYS if source.get(key) is not None}
