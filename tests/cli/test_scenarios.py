"""`relief scenarios generate` writes a set; `compare` prints and draws the figures."""

from pathlib import Path

from typer.testing import CliRunner

from api.cli.main import app
from scenarios.scenario import BUNDLED, SCENARIOS_DIR


def test_scenarios_generate_then_compare(tmp_path: Path) -> None:
    """Four generated quakes, then the bundled scenario beside two of them."""
    runner = CliRunner()
    out = tmp_path / "quakes"
    result = runner.invoke(
        app,
        ["scenarios", "generate", str(SCENARIOS_DIR / "haicheng-hazards"), "--out", str(out),
         "--count", "4", "--seed", "3"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "scenarios.csv").read_text(encoding="utf-8").count("\n") == 5
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    result = runner.invoke(
        app, ["scenarios", "compare", str(BUNDLED), *map(str, folders[:2]), "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "compare.png").exists()
    assert "43,640" in result.stdout


def test_scenarios_compare_bad_folder_exits_2(tmp_path: Path) -> None:
    """A folder without scenario.yaml: one line, exit 2."""
    result = CliRunner().invoke(app, ["scenarios", "compare", str(tmp_path)])
    assert result.exit_code == 2
    assert "scenario.yaml" in result.output
