"""BetaVAE score on samplers whose codes are known, against the reference's sampler-level values."""

from __future__ import annotations

import numpy as np
import pytest

from latentkit.analysis.beta_vae import beta_vae_score
from latentkit.errors import LatentkitError

from .conftest import GeneratorSampler, assert_within_sampler_reference


@pytest.mark.parametrize("case_name", ["a_disentangled", "d_partially_collapsed", "e_dsprites_like"])
def test_paper_config_matches_the_reference_statistically(case_name):
    result = beta_vae_score(GeneratorSampler(case_name[0]), seed=0)
    assert_within_sampler_reference(result.train_accuracy, case_name, "beta_vae.train_accuracy")
    assert_within_sampler_reference(result.eval_accuracy, case_name, "beta_vae.eval_accuracy")


def test_same_seed_same_score_other_seed_other_draws():
    first = beta_vae_score(GeneratorSampler("d", noise_seed=1), seed=3, num_train=300, num_eval=300)
    again = beta_vae_score(GeneratorSampler("d", noise_seed=1), seed=3, num_train=300, num_eval=300)
    other = beta_vae_score(GeneratorSampler("d", noise_seed=1), seed=4, num_train=300, num_eval=300)
    assert first.eval_accuracy == again.eval_accuracy
    assert not np.array_equal(first.confusion_eval, other.confusion_eval)


def test_a_sampler_returning_the_wrong_number_of_codes_is_a_latentkit_error():
    class Broken(GeneratorSampler):
        def observe(self, factors):
            return super().observe(factors)[:-1]

    with pytest.raises(LatentkitError, match="one row of codes per row of factors"):
        beta_vae_score(Broken("a"), num_train=10, num_eval=10)
