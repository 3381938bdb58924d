"""A collapsed model's figures and console output say so, on every figure command."""

import re

import numpy as np
import pytest

from latentkit.cli import main
from latentkit.figures.style import caveats_of
from tests.conftest import HANDSET_PLUGIN

# Every weight tiny: the posterior means barely move (Var(μ) ~ 1e-9, far under 0.01) and the
# decoder returns sigmoid(~0) = 0.5 everywhere, so every decoded cell looks the same.
TINY_WEIGHT = (np.eye(4) * 1e-4).tolist()


@pytest.fixture
def collapsed(tmp_path):
    from latentkit.models.checkpoint import save
    from latentkit.models.registry import PluginRegistry

    rng = np.random.default_rng(1)
    factors = rng.integers(0, 3, size=(300, 2))
    images = rng.random((300, 1, 2, 2)).astype(np.float32)
    data = tmp_path / "data.npz"
    np.savez(data, x=images, y=factors[:, 0], factors=factors, factor_names=np.array(["a", "b"]))
    config = {"weight": TINY_WEIGHT, "logvar": [0.0] * 4}
    model = PluginRegistry([HANDSET_PLUGIN]).get("handset-vae").build(config)
    path = save(model, tmp_path / "collapsed.safetensors", plugin="handset-vae", config=config, dataset=str(data))
    return path


@pytest.mark.parametrize(
    ("args", "figure", "identical"),
    [
        (["kl-report"], "kl-report.png", False),
        (["interpolate", "--pairs", "2", "--steps", "3"], "interpolate.png", True),
        (["traverse", "--steps", "3"], "traverse.png", True),
        (["umap", "--method", "pca", "--n", "120"], "embedding.png", False),
        (["disentangle", "--metrics", "mig", "--n", "200"], "disentangle-mi.png", False),
    ],
)
def test_collapsed_model_caveat_on_figure_and_console(capsys, collapsed, tmp_path, args, figure, identical):
    out_dir = tmp_path / "out"
    code = main([args[0], str(collapsed), *args[1:], "--plugin-file", str(HANDSET_PLUGIN), "--out", str(out_dir),
                 "--dpi", "40", "-q"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    console = re.sub(r"\s+", " ", out + err)
    assert "caveat: collapsed model: none of the 4 latent dimensions is active" in console
    stored = caveats_of(out_dir / figure)
    assert any(c.startswith("collapsed model: none of the 4 latent dimensions is active") for c in stored), stored
    assert any(c.startswith("identical cells") for c in stored) == identical


def test_a_healthy_model_gets_no_caveat(capsys, handset_checkpoint, tmp_path):
    code = main(["traverse", str(handset_checkpoint), "--plugin-file", str(HANDSET_PLUGIN), "--out", str(tmp_path),
                 "--dpi", "40", "-q"])  # fmt: skip
    _, err = capsys.readouterr()
    assert code == 0, err
    assert "caveat" not in err and caveats_of(tmp_path / "traverse.png") == []


def test_pca_under_the_trust_line_says_so_on_the_figure(tmp_path):
    from latentkit.commands.embed import _caveats

    found = _caveats(np.random.default_rng(0).normal(size=(200, 6)), "posterior_mean", 0.883, "pca")
    assert found == [
        "low trustworthiness: 0.883 < 0.9; some neighbourhoods in the picture are not neighbourhoods of the "
        "projected points, do not read clusters into it (two linear components miss the rest)"
    ]


def test_traversal_rows_say_why_they_have_no_frame(handset_checkpoint):
    from latentkit.commands.traverse import figure_rows, traverse

    result = traverse(handset_checkpoint, plugin_files=[HANDSET_PLUGIN], value_range=0.01, steps=3, write=False)
    labels, framed = figure_rows(result)
    rows = result.document["results"]["rows"]
    for label, column, row in zip(labels, framed, rows):
        assert label.startswith(f"z{row['dim']} · KL ") and f"sens {row['sensitivity']:.1e}" in label
        assert (column is None) == (abs(row["base_value"]) > 0.01) == ("(outside range)" in label)
    assert any(column is None for column in framed)  # the base code's values lie outside ±0.01
    ignored = [label for label, row in zip(labels, rows) if row["dim"] == 3]
    assert ignored[0].endswith("no visible change")  # the decoder ignores dimension 3 entirely


def test_collapsed_model_table_shows_no_shares_of_a_negligible_total(capsys, collapsed, tmp_path):
    code = main(["kl-report", str(collapsed), "--plugin-file", str(HANDSET_PLUGIN), "--out", str(tmp_path / "o"),
                 "--dpi", "40", "-q"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    console = re.sub(r"\s+", " ", out)
    assert "shares not shown: total KL under 0.01 nats" in console
    assert not re.search(r"\d+\.\d%", out)  # no percentage anywhere in the table
    assert "–" in out


def test_healthy_model_table_shows_shares(capsys, handset_checkpoint, tmp_path):
    code = main(["kl-report", str(handset_checkpoint), "--plugin-file", str(HANDSET_PLUGIN), "--out", str(tmp_path),
                 "--dpi", "40", "-q"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "shares not shown" not in out and re.search(r"\d+\.\d%", out)
