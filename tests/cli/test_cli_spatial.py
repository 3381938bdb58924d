"""The CLI on a VAE with a (3, 2, 2) latent: per-channel table, latent scale line, --spatial."""

import json

from latentkit.cli import main
from tests.spatial import SPATIAL_PLUGIN, write_spatial_checkpoint


def test_kl_report_prints_channels_and_the_latent_scale(capsys, tmp_path):
    checkpoint = write_spatial_checkpoint(tmp_path, {"scaling_factor": 0.5})
    code = main(["-q", "kl-report", str(checkpoint), "--plugin-file", str(SPATIAL_PLUGIN), "--json", "--out", str(tmp_path / "o")])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out)
    assert doc["results"]["layout"]["kind"] == "spatial" and len(doc["results"]["kl"]["per_dim"]) == 3
    assert "channel" in err and "latents 3×2×2" in err
    implied = doc["results"]["scale"]["implied"]["scaling_factor"]
    assert f"scaling_factor {implied:.5g}" in err
    assert f"model's scaling_factor 0.5 ({0.5 / implied - 1:+.1%})" in err


def test_an_unknown_spatial_reduction_is_one_line_and_exit_2(capsys, tmp_path):
    checkpoint = write_spatial_checkpoint(tmp_path)
    code = main(["umap", str(checkpoint), "--plugin-file", str(SPATIAL_PLUGIN), "--spatial", "max", "--method", "pca"])
    _, err = capsys.readouterr()
    assert code == 2
    assert "unknown --spatial 'max'" in err and "channel-mean, flatten" in err and "Traceback" not in err
