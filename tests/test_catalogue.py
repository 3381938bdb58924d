"""The figure catalogue: names, directions, the registry behind it, and the README table."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentkit import catalogue
from latentkit.analysis.registry import METRICS, metric_of_score
from latentkit.defaults import DISENTANGLE_METRICS
from latentkit.errors import LatentkitError

README = Path(__file__).parents[1] / "README.md"


def test_readme_figure_table_is_the_catalogue():
    readme = README.read_text()
    start, end = "<!-- figures: generated from latentkit/catalogue.py -->\n", "<!-- /figures -->"
    assert start in readme and end in readme
    table = readme.split(start, 1)[1].split(end, 1)[0]
    assert table == catalogue.markdown_table(), "regenerate with: python -c 'from latentkit.catalogue import markdown_table; print(markdown_table())'"


def test_names_are_unique_dotted_and_stable():
    names = catalogue.names()
    assert len(names) == len(set(names))
    for required in ("kl.total", "kl.per_dim", "active_units", "mig", "dci.disentanglement",
                     "interpolate.lerp.smoothness_mean", "umap.trustworthiness"):  # fmt: skip
        assert required in names


def test_unknown_figure_lists_the_valid_names():
    with pytest.raises(LatentkitError) as caught:
        catalogue.figure("kl.totl")
    assert "kl.total" in caught.value.fix and "mig" in caught.value.fix


def test_directions_say_which_way_is_better():
    assert catalogue.figure("mig").direction == "higher"
    assert catalogue.figure("collapsed_units").direction == "lower"
    assert catalogue.figure("unsupervised.gaussian_total_correlation").direction == "lower"
    assert catalogue.figure("kl.total").direction == "none"  # neither more nor less KL is better in itself
    assert {f.direction for f in catalogue.FIGURES} <= {"higher", "lower", "none"}


def test_registry_lists_every_metric_and_its_scores():
    assert tuple(METRICS) == DISENTANGLE_METRICS
    assert metric_of_score("dci.completeness").name == "dci"
    assert [m for m, entry in METRICS.items() if entry.needs_sampler] == ["beta_vae", "factor_vae"]
    for metric in METRICS.values():
        for score in metric.scores:
            assert catalogue.figure(score.name).analysis == f"disentangle:{metric.name}"
