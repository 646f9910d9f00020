"""Loading a sample ledger (items, depots, movements) from a folder: the demo's and the
keeper walk's starting point. The bundled sample lives in `scenarios.scenario.SAMPLE_DIR`."""

from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from supply.models import DepotCreate, FleetCreate, ItemCreate
from supply.services.catalogue import upsert_depots, upsert_items
from supply.services.fleet import FLEET_COLUMNS, upsert_fleet
from supply.services.movements_io import REQUIRED_COLUMNS, MovementRow, import_movements
from supply.sheets import read_rows


@dataclass(frozen=True, slots=True)
class Loaded:
    items: int
    depots: int
    documents: int
    movements: int
    vehicle_types: int = 0


def load_sample(session: Session, folder: Path, *, actor: str = "demo") -> Loaded:
    """Import `items.csv`, `depots.csv`, `fleet.csv` (if there) and `movements.csv` from a
    folder, in that order."""
    items = read_rows(folder / "items.csv", ItemCreate, required=("code",))
    depots = read_rows(folder / "depots.csv", DepotCreate, required=("code", "tier"))
    movements = read_rows(folder / "movements.csv", MovementRow, required=REQUIRED_COLUMNS)
    fleet = (
        read_rows(folder / "fleet.csv", FleetCreate, required=FLEET_COLUMNS)
        if (folder / "fleet.csv").exists()
        else []
    )
    upsert_items(session, [r for _, r in items])
    upsert_depots(session, [r for _, r in depots])
    upsert_fleet(session, [r for _, r in fleet])
    result = import_movements(session, movements, actor=actor)
    return Loaded(len(items), len(depots), result.documents, result.movements, len(fleet))
