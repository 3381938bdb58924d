"""``latentkit demo`` ends with one report page per model and prints where they are."""

from __future__ import annotations

from pathlib import Path

import pytest

from latentkit.cli import main


def test_demo_writes_a_report_per_model_and_prints_its_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import latentkit.commands.demo as demo

    monkeypatch.setattr(demo, "DEMO_EPOCHS", 1)  # the plumbing, not the training, is under test
    code = main(["-q", "demo", "--out", str(tmp_path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    for name in ("vae", "beta-vae"):
        page = tmp_path / name / "report.html"
        assert f"report: {page}" in out
        html = page.read_text(encoding="utf-8")
        assert html.count("<section id=") == 7 and "http" not in html.lower()
        assert (tmp_path / name / "report.json").is_file()
