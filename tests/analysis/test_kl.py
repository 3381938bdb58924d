import numpy as np

from latentkit.analysis.kl import gaussian_kl, kl_share, per_dimension_kl


def test_kl_is_zero_at_the_prior_and_matches_the_closed_form():
    assert gaussian_kl(np.zeros(3), np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
    # KL(N(1, e^-1) || N(0,1)) = 0.5 (1 + e^-1 - 1 + 1)
    assert np.isclose(gaussian_kl(np.array([1.0]), np.array([-1.0]))[0], 0.5 * (1 + np.exp(-1) + 1 - 1))


def test_kl_agrees_with_a_monte_carlo_estimate():
    rng = np.random.default_rng(1)
    mu, logvar = 0.7, -0.5
    sigma = np.exp(0.5 * logvar)
    z = mu + sigma * rng.standard_normal(400_000)
    log_q = -0.5 * (((z - mu) / sigma) ** 2 + np.log(2 * np.pi) + logvar)
    log_p = -0.5 * (z**2 + np.log(2 * np.pi))
    terms = log_q - log_p
    estimate, stderr = terms.mean(), terms.std(ddof=1) / np.sqrt(len(terms))
    assert abs(gaussian_kl(np.array([mu]), np.array([logvar]))[0] - estimate) < 3 * stderr


def test_per_dimension_kl_averages_rows_and_share_sums_to_one():
    mean = np.array([[0.0, 1.0], [0.0, 3.0]])
    logvar = np.zeros((2, 2))
    per_dim = per_dimension_kl(mean, logvar)
    assert per_dim.tolist() == [0.0, 2.5]
    assert kl_share(per_dim).tolist() == [0.0, 1.0]
    assert kl_share(np.zeros(3)).tolist() == [0.0, 0.0, 0.0]
