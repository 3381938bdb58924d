import numpy as np
import pytest

from latentkit.analysis.latent_scale import (
    ChannelSubsample,
    LatentSampleStats,
    compare_with_config,
    latent_scale,
    model_normalization,
    pooled_moments,
    scale_notes,
)
from latentkit.analysis.layout import LatentLayout
from latentkit.analysis.moments import RunningMoments

LAYOUT = LatentLayout((3, 2, 2))
# Posterior means take the per-channel values MEANS ± SPREADS equally often at every position;
# the posterior variance is SIGMA2 per channel. Closed form: E z_c = MEANS_c, Var z_c = SPREADS_c² + SIGMA2_c.
MEANS = np.array([1.5, -2.5, 0.3])
SPREADS = np.array([0.5, 0.75, 0.0])
SIGMA2 = np.array([np.exp(-1.0), np.exp(0.5), 1.0])


def known_latents(n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(n, 12) flattened means (half the rows +spread, half −spread) and log-variances."""
    sign = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)[:, None, None]
    mean = (MEANS[None, :, None] + sign * SPREADS[None, :, None]) * np.ones((n, 3, 4))
    logvar = np.log(SIGMA2)[None, :, None] * np.ones((n, 3, 4))
    return mean.reshape(n, -1), logvar.reshape(n, -1)


def stats_of(
    mean: np.ndarray, logvar: np.ndarray, batch: int, seed: int = 0, rows: np.ndarray | None = None, capacity: int = 50
):
    """Streaming statistics of ``rows`` (default all) of the data, ``batch`` rows at a time."""
    rows = np.arange(len(mean)) if rows is None else rows
    means, sigma2 = RunningMoments(LAYOUT.size), RunningMoments(LAYOUT.size)
    samples = LatentSampleStats(LAYOUT, seed, capacity=capacity)
    for start in range(0, len(rows), batch):
        part = rows[start : start + batch]
        means.update(mean[part])
        sigma2.update(np.exp(logvar[part]))
        samples.update(mean[part], logvar[part], part)
    return means, sigma2, samples


def test_implied_scale_equals_the_closed_form():
    means, sigma2, samples = stats_of(*known_latents(), batch=40)
    scale = latent_scale(means, sigma2, samples, LAYOUT)
    channel_var = SPREADS**2 + SIGMA2
    np.testing.assert_allclose(scale.latents_mean, MEANS, rtol=1e-6)
    np.testing.assert_allclose(scale.latents_std, np.sqrt(channel_var), rtol=1e-6)
    np.testing.assert_allclose(scale.means_mean, MEANS, rtol=1e-6)
    np.testing.assert_allclose(scale.means_std, SPREADS, atol=1e-6)
    # all values pooled: the mean of the channel variances plus the variance of the channel means
    total_var = channel_var.mean() + MEANS.var()
    assert scale.scaling_factor == pytest.approx(1 / np.sqrt(total_var), rel=1e-6)
    assert scale.shift_factor == pytest.approx(MEANS.mean(), rel=1e-6)
    np.testing.assert_allclose(scale.noise_share, SIGMA2 / channel_var, rtol=1e-6)


def test_streaming_in_batches_equals_one_pass_and_shards_merge_in_any_order():
    mean, logvar = known_latents(41)
    whole = latent_scale(*stats_of(mean, logvar, batch=41), LAYOUT)
    batched = latent_scale(*stats_of(mean, logvar, batch=4), LAYOUT)
    for key in ("latents_mean", "latents_std", "means_std"):
        np.testing.assert_allclose(getattr(batched, key), getattr(whole, key), rtol=1e-12, atol=1e-12)
    assert batched.scaling_factor == pytest.approx(whole.scaling_factor, rel=1e-12)
    # seeded samples depend on (seed, row) only: same draws, same subsample, however batched
    for key in ("scaling_factor", "shift_factor"):
        assert batched.sampled[key] == pytest.approx(whole.sampled[key], rel=1e-12)
    np.testing.assert_array_equal(batched.histograms["counts"], whole.histograms["counts"])
    # shards of rows merged in reverse order
    shards = [stats_of(mean, logvar, batch=5, rows=rows) for rows in np.array_split(np.arange(41), 3)]
    merged = shards[2]
    for other in reversed(shards[:2]):
        for mine, theirs in zip(merged, other):
            mine.merge(theirs)
    merged_scale = latent_scale(*merged, LAYOUT)
    np.testing.assert_allclose(merged_scale.latents_std, whole.latents_std, rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(merged[2].subsample.values, stats_of(mean, logvar, batch=41)[2].subsample.values)


def test_sampled_estimates_agree_with_the_exact_moments_within_sampling_error():
    means, sigma2, samples = stats_of(*known_latents(2000), batch=500, seed=3, capacity=4000)
    scale = latent_scale(means, sigma2, samples, LAYOUT)
    # 4000 of the 8000 values per channel: standard error of a std estimate ≈ std / sqrt(2 · 4000) ≈ 1.1 %
    assert scale.sampled["n_per_channel"] == 4000
    np.testing.assert_allclose(scale.sampled["latents_std"], scale.latents_std, rtol=0.05)
    np.testing.assert_allclose(scale.sampled["latents_mean"], scale.latents_mean, atol=0.05)
    assert scale.sampled["scaling_factor"] == pytest.approx(scale.scaling_factor, rel=0.04)
    assert scale.histograms["counts"].sum(axis=1).tolist() == [4000, 4000, 4000]


def test_bottom_k_subsample_keeps_the_smallest_priorities():
    sub = ChannelSubsample(1, capacity=3)
    sub.update(np.array([[10.0, 11.0, 12.0, 13.0]]), np.array([[0.9, 0.1, 0.5, 0.3]]))
    sub.update(np.array([[14.0]]), np.array([[0.2]]))
    assert sub.values.tolist() == [[11.0, 14.0, 13.0]]  # priorities 0.1, 0.2, 0.3


def test_pooled_moments_equal_numpy_over_all_values():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(30, 3, 4)) * np.array([1.0, 2.0, 3.0])[None, :, None] + 5
    moments = RunningMoments(12)
    moments.update(values.reshape(30, -1))
    pooled = pooled_moments(moments.mean, moments.variance(), LAYOUT)
    np.testing.assert_allclose(pooled["channel_mean"], values.mean(axis=(0, 2)))
    np.testing.assert_allclose(pooled["channel_var"], values.var(axis=(0, 2)))
    assert pooled["var"] == pytest.approx(values.var())


def test_config_values_side_by_side_with_the_relative_difference():
    scale = latent_scale(*stats_of(*known_latents(), batch=40), LAYOUT)
    config = {"scaling_factor": 2 * scale.scaling_factor, "latents_mean": [1.5, -2.0, 0.3], "ignored": 1}
    comparison = compare_with_config(scale, model_normalization(object(), config))
    assert comparison["scaling_factor"]["relative_difference"] == pytest.approx(1.0)
    np.testing.assert_allclose(comparison["latents_mean"]["relative_difference"], [0.0, 0.2, 0.0], atol=1e-9)
    assert comparison["normalized_std"] == pytest.approx(2.0)
    assert any("std 2" in note for note in scale_notes(scale, comparison, np.array([True, True, False])))
    with pytest.raises(ValueError, match=r"latents_std has shape \[2\] but the latents have 3 channels"):
        compare_with_config(scale, {"latents_std": [1.0, 2.0]})


def test_a_model_attribute_wins_over_the_config():
    class Model:
        latent_normalization = {"scaling_factor": 0.18215, "shift_factor": None}

    assert model_normalization(Model(), {"scaling_factor": 1.0}) == {"scaling_factor": 0.18215}


def test_a_nearly_deterministic_posterior_is_flagged():
    mean, _ = known_latents()
    narrow = np.full_like(mean, np.log(1e-6))
    scale = latent_scale(*stats_of(mean, narrow, batch=40), LAYOUT)
    notes = scale_notes(scale, {}, np.array([True, True, False]))
    assert any("nearly deterministic" in note for note in notes)
    wide = latent_scale(*stats_of(*known_latents(), batch=40), LAYOUT)
    assert scale_notes(wide, {}, np.array([True, True, False])) == []


def test_counter_uniforms_are_uniform_independent_and_depend_on_the_counter_and_seed_only():
    from latentkit.analysis.latent_scale import counter_uniforms, posterior_draws

    counters = np.arange(300_000).reshape(3, 100_000)
    u = counter_uniforms(7, counters)
    assert u.shape == (3, 100_000) and 0 < u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.002 and abs(u.var() - 1 / 12) < 0.001
    assert abs(np.corrcoef(u[0], u[1])[0, 1]) < 0.01
    np.testing.assert_array_equal(counter_uniforms(7, np.array([17, 100_003])), u.ravel()[[17, 100_003]])
    assert not np.array_equal(counter_uniforms(8, counters[:, :10]), u[:, :10])
    rows, elements = np.divmod(np.arange(100_000), 25)
    samples = posterior_draws(np.zeros(100_000), np.zeros(100_000), rows, elements, size=25, seed=7)
    assert abs(samples.mean()) < 0.01 and abs(samples.std() - 1) < 0.01
    assert abs(np.mean(samples**4) - 3) < 0.05  # Gaussian kurtosis


def test_a_full_subsample_draws_only_what_can_still_enter_it():
    mean, logvar = known_latents(400)
    one_pass = stats_of(mean, logvar, batch=400, capacity=20)[2]
    trickle = stats_of(mean, logvar, batch=1, capacity=20)[2]
    np.testing.assert_array_equal(trickle.subsample.values, one_pass.subsample.values)
    np.testing.assert_array_equal(trickle.subsample.priority, one_pass.subsample.priority)
    # the same (row, position) pairs in every channel: one priority per pair
    assert (one_pass.subsample.priority == one_pass.subsample.priority[0]).all()
