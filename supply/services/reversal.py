"""Undoing a posted document with a reversing one, and what else that undoes.

The ledger mirrors the movements (`ledger.reverse`); the records that pointed at the
document belong to their own services, which say what a reversal means for them, through
one table by document kind: a reversed receipt reopens its call-off (`calloffs`), a
reversed delivery puts its loads back on the road (`dispatch`), an in-transit transfer
that has arrived is refused until its arrival is reversed (`stock`), and mutual-aid
documents are refused (`aid`: their loan undoes them).
"""

from collections.abc import Callable

from sqlmodel import Session

from supply import ledger
from supply.ledger import Posted
from supply.models import Document, DocumentKind
from supply.services import aid, calloffs, stock
from supply.services.dispatch import movements
from supply.services.stock import Meta, document_by_number

#: What else a reversal of each kind of document undoes, run before the mirror is posted
#: (each may refuse; nothing is written then).
ON_REVERSE: dict[str, Callable[[Session, Document], None]] = {
    DocumentKind.RECEIPT.value: calloffs.on_receipt_reversed,
    DocumentKind.ISSUE.value: movements.on_delivery_reversed,
    DocumentKind.TRANSFER_DISPATCH.value: stock.refuse_if_arrived,
    DocumentKind.AID_LOAN.value: aid.refuse_reversal,
    DocumentKind.AID_RETURN.value: aid.refuse_reversal,
    DocumentKind.AID_SETTLEMENT.value: aid.refuse_reversal,
}


def reverse(session: Session, number: str, *, meta: Meta = Meta()) -> Posted:
    """Undo a posted document by posting its mirror image; refused if stock has moved on.

    Raises
    ------
    NotFound
        No document has that number.
    DocumentState
        It is already reversed, its transfer has arrived, or its call-off was settled.
    InsufficientStock
        Undoing it would take a depot below zero or below what is reserved.
    """
    doc = document_by_number(session, number, lock=True)
    hook = ON_REVERSE.get(doc.kind)
    if hook is not None:
        hook(session, doc)
    return ledger.reverse(session, doc, actor=meta.actor, note=meta.note)
