"""Parameters: checked by name and range, loadable from TOML, recorded in full."""

from pathlib import Path

import pytest

from optimizer.params import RouteParams, as_record, load_params


def test_params_load_from_toml_and_keep_defaults(tmp_path: Path) -> None:
    """A TOML file sets what it names; everything else keeps its default."""
    path = tmp_path / "tuning.toml"
    path.write_text(
        '[allocation]\nsolver = "SCIP"\n[routing]\nseed = 4\nphase_shares = [0.6, 0.2, 0.2]\n',
        encoding="utf-8",
    )
    allocation, routing = load_params(path)
    assert allocation.solver == "SCIP"
    assert routing.seed == 4
    assert routing.phase_shares == (0.6, 0.2, 0.2)
    assert routing.steps_per_second == RouteParams().steps_per_second


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[routing]\nsteps = 3\n", "routing.steps: unknown parameter"),
        ("[routing]\nbranching = 0\n", "branching: at least 1"),
        ("[search]\nseed = 1\n", "unknown table [search]"),
        ("[routing\n", "tuning.toml"),
    ],
)
def test_a_bad_parameter_file_names_the_parameter(tmp_path: Path, text: str, names: str) -> None:
    path = tmp_path / "tuning.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=names.replace("[", r"\[").replace(".", r"\.")):
        load_params(path)


def test_a_record_holds_every_parameter_as_json_values() -> None:
    record = as_record(RouteParams())
    assert record["phase_shares"] == [0.5, 0.3, 0.2]
    assert set(record) == set(RouteParams.__dataclass_fields__)
