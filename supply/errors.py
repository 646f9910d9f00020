"""Typed refusals from the ledger's services.

Each names the field (or the thing) at fault and the reason, so that the CLI can print one
line and the API a problem+json body; raising one means nothing was written.
"""

from datetime import date


class SupplyError(Exception):
    """Base of every refusal. `field` names the input at fault; `reason` says why."""

    status_code = 400
    #: Set by bulk operations: which element (document, row) of the batch was refused.
    index: int | None = None

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class InvalidInput(SupplyError):
    status_code = 422


class NotFound(SupplyError):
    """An unknown code: depot, item, lot or document."""

    status_code = 404

    def __init__(self, field: str, value: str) -> None:
        self.value = value
        super().__init__(field, f"unknown {field} {value!r}")


class OutOfScope(SupplyError):
    """The user's jurisdiction does not own what they asked to change."""

    status_code = 403


class Conflict(SupplyError):
    """The request contradicts what the ledger already holds."""

    status_code = 409


class InsufficientStock(Conflict):
    """Not enough available stock (on hand less reserved) for what was asked."""

    def __init__(
        self, *, depot: str, item: str, lot: str | None, available: int, requested: int
    ) -> None:
        self.depot = depot
        self.item = item
        self.lot = lot
        self.available = available
        self.requested = requested
        lot_text = f"lot {lot}" if lot else "all usable lots"
        SupplyError.__init__(
            self,
            "qty",
            f"insufficient stock at depot {depot}, item {item}, {lot_text}: "
            f"available {available}, requested {requested}",
        )


class ExpiredBatch(Conflict):
    def __init__(self, *, item: str, lot: str, expires_on: date) -> None:
        self.item = item
        self.lot = lot
        self.expires_on = expires_on
        super().__init__("lot", f"lot {lot} of item {item} expired on {expires_on.isoformat()}")


class UnbalancedDocument(SupplyError):
    def __init__(self, *, item: str, lot: str, total: int) -> None:
        self.item = item
        self.lot = lot
        self.total = total
        super().__init__("lines", f"lines of item {item}, lot {lot} sum to {total}, not zero")


class DocumentState(Conflict):
    """The document is in a state that forbids the action (already reversed, not posted...)."""


class ReplayMismatch(Conflict):
    """A key (or an imported reference) seen again with other content: a correction that
    would otherwise be skipped as a replay and lost. Posted documents never change, so the
    keeper reverses the old one and posts the new one under a new key."""

    def __init__(self, *, key: str, number: str, fields: list[str], line_index: int) -> None:
        self.key = key
        self.number = number
        self.fields = fields
        #: Position, in the new draft's lines, of the first line that differs.
        self.line_index = line_index
        super().__init__(
            "idempotency_key",
            f"{key!r} was already posted as {number} with other {', '.join(fields)}; "
            f"a posted document never changes: reverse {number} "
            f"(`relief stock reverse {number}`) and post the correction under a new key",
        )
