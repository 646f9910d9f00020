"""What a plan was made from, so that anyone can make it again and check it is the same.

A plan records the hash of its inputs (the `Problem` as planned: a scenario's files as read,
or the ledger's snapshot), the seed, every parameter, the time limit and the software
version; `inputs.json` beside the plan holds the inputs themselves. With those, the same
plan comes out again on any machine (the route search is bounded by work, not time),
unless the plan says the clock cut its search short.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter

from optimizer.problem import Problem

__all__ = [
    "Provenance",
    "files_sha256",
    "inputs_sha256",
    "problem_from_record",
    "problem_record",
    "software_version",
]

_PROBLEM: TypeAdapter[Problem] = TypeAdapter(Problem)


def problem_record(problem: Problem) -> dict[str, Any]:
    """The problem as plain JSON values (dates as ISO text, enums as their values)."""
    record: dict[str, Any] = _PROBLEM.dump_python(problem, mode="json")
    return record


def problem_from_record(record: dict[str, Any]) -> Problem:
    """The problem back from `problem_record`'s output.

    Raises
    ------
    pydantic.ValidationError
        When the record is not a problem (a field missing, of the wrong type).
    """
    return _PROBLEM.validate_python(record)


def _canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def inputs_sha256(problem: Problem) -> str:
    """sha256 of the problem's canonical JSON: equal exactly when the inputs are."""
    return hashlib.sha256(_canonical(problem_record(problem))).hexdigest()


def files_sha256(folder: Path) -> dict[str, str]:
    """sha256 of every file of a scenario folder, by name (subfolders ignored)."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


def software_version() -> str:
    try:
        return f"relief-supply {metadata.version('relief-supply')}"
    except metadata.PackageNotFoundError:  # run from a checkout without installing
        return "relief-supply (not installed)"


@dataclass(slots=True)
class Provenance:
    """inputs_sha256: of `inputs.json` (the problem as planned); scenario and
    scenario_files: the folder it was read from and its files' hashes (None for ledger
    plans, which give `as_of`, the snapshot's UTC time); parameters: every allocation and
    routing parameter; routed: whether tours were planned."""

    inputs_sha256: str
    seed: int
    time_limit_s: float
    deadline_hours: float | None
    routed: bool
    parameters: dict[str, Any]
    software: str = field(default_factory=software_version)
    scenario: str | None = None
    scenario_files: dict[str, str] = field(default_factory=dict)
    as_of: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Provenance":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
