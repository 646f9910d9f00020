"""Every table of the ledger; importing this registers them all on the metadata."""

from supply.models.balances import Balance, Reservation, ReservationStatus
from supply.models.batches import Batch, is_expired, rotation_date
from supply.models.catalogue import Item, ItemCreate, ItemRead
from supply.models.documents import (
    NUMBER_PREFIX,
    DisposalReason,
    Document,
    DocumentCounter,
    DocumentKind,
    DocumentStatus,
    Movement,
)
from supply.models.locations import (
    GUARDED_KINDS,
    DepotCreate,
    Location,
    LocationKind,
    LocationRead,
    Tier,
)

__all__ = [
    "GUARDED_KINDS",
    "NUMBER_PREFIX",
    "Balance",
    "Batch",
    "DepotCreate",
    "DisposalReason",
    "Document",
    "DocumentCounter",
    "DocumentKind",
    "DocumentStatus",
    "Item",
    "ItemCreate",
    "ItemRead",
    "Location",
    "LocationKind",
    "LocationRead",
    "Movement",
    "Reservation",
    "ReservationStatus",
    "Tier",
    "is_expired",
    "rotation_date",
]
