"""Rule parsing, every comparison, baseline arithmetic, and rules files."""

from __future__ import annotations

import math

import pytest

from latentkit.errors import LatentkitError
from latentkit.rules import find_rules_file, parse_rule, read_rules_file


@pytest.mark.parametrize(
    ("text", "measured", "holds"),
    [
        ("kl.total <= 40", 40.0, True), ("kl.total <= 40", 40.5, False),
        ("kl.total < 40", 40.0, False), ("kl.total < 40", 39.9, True),
        ("active_units >= 8", 8, True), ("active_units >= 8", 7, False),
        ("active_units > 8", 8, False), ("active_units > 8", 9, True),
        ("active_units == 8", 8, True), ("active_units == 8", 9, False),
        ("mig>=0.15", 0.2, True), ("mig >= 1.5e-1", 0.1, False),
        ("mig >= 0.1", None, False), ("mig >= 0.1", math.nan, False), ("kl.total <= 1e9", math.inf, False),
    ],
)  # fmt: skip
def test_every_comparison(text, measured, holds):
    assert parse_rule(text).holds(measured) is holds


@pytest.mark.parametrize(
    ("text", "baseline", "threshold"),
    [
        ("mig >= baseline - 0.05", 0.3, 0.25), ("mig >= baseline-0.05", 0.3, 0.25), ("mig >= baseline -0.05", 0.3, 0.25),
        ("kl.total <= baseline * 1.1", 20.0, 22.0), ("kl.total <= baseline / 2", 20.0, 10.0),
        ("active_units >= baseline + 1", 5, 6), ("active_units >= baseline", 5, 5),
    ],
)  # fmt: skip
def test_relative_rules_take_the_baseline(text, baseline, threshold):
    rule = parse_rule(text)
    assert rule.needs_baseline
    assert rule.threshold(baseline) == pytest.approx(threshold)
    assert rule.holds(threshold, baseline) is (rule.op in (">=", "<=", "=="))


def test_indexed_per_dimension_figure():
    rule = parse_rule("kl.per_dim[3] > 0.1")
    assert (rule.figure.name, rule.index, rule.name) == ("kl.per_dim", 3, "kl.per_dim[3]")


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("kl.total <= 4O", "'4O' (column 13)"),
        ("kl.total => 3", "'=>' (column 10)"),
        ("kl.total ≤ 3", "'≤' (column 10)"),
        ("kl.total <= baseline ^ 2", "'^' (column 22)"),
        ("kl.total <= 3 4", "'4' (column 15)"),
        ("<= 3", "'<=' (column 1)"),
        ("kl.total", "at the end"),
    ],
)
def test_bad_syntax_points_at_the_bad_token(text, token):
    with pytest.raises(LatentkitError) as caught:
        parse_rule(text)
    assert caught.value.message.startswith(f"bad rule {text!r}") and token in caught.value.message


def test_unknown_figure_lists_the_valid_names():
    with pytest.raises(LatentkitError, match="unknown figure 'mgi'") as caught:
        parse_rule("mgi >= 0.1")
    assert "mig" in caught.value.fix and "kl.total" in caught.value.fix


def test_per_dimension_figures_need_an_index_and_scalars_refuse_one():
    with pytest.raises(LatentkitError, match="one value per dimension"):
        parse_rule("kl.per_dim > 0.1")
    with pytest.raises(LatentkitError, match="is one number"):
        parse_rule("kl.total[0] > 0.1")


def test_rules_files_are_found_walking_up(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.latentkit.check]\nrequire = ["active_units >= 2"]\n')
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert find_rules_file(deep) == tmp_path / "pyproject.toml"
    assert read_rules_file(tmp_path / "pyproject.toml") == ["active_units >= 2"]
    (tmp_path / "a" / "pyproject.toml").write_text('[project]\nname = "other"\n')  # no table: keep walking
    assert find_rules_file(deep) == tmp_path / "pyproject.toml"
    (tmp_path / "a" / "latentkit.toml").write_text('[check]\nrequire = ["kl.total <= 40"]\n')
    assert find_rules_file(deep) == tmp_path / "a" / "latentkit.toml"
    assert read_rules_file(tmp_path / "a" / "latentkit.toml") == ["kl.total <= 40"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[check\nrequire = 1", "is not valid TOML"),
        ("[other]\nx = 1\n", "has no [check] table"),
        ('[check]\nrequire = "mig >= 1"\n', "is not a list of strings"),
        ('[check]\nrequires = ["mig >= 1"]\n', "unknown key(s) requires"),
    ],
)
def test_bad_rules_files_are_named(tmp_path, content, message):
    path = tmp_path / "latentkit.toml"
    path.write_text(content)
    with pytest.raises(LatentkitError) as caught:
        read_rules_file(path)
    assert message in caught.value.message and str(path) in caught.value.message
