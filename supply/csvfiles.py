"""Former home of the CSV reader; every import now reads through `supply.sheets` (xlsx or
CSV in UTF-8, BOM or GB18030). Kept so that callers of the old names keep working."""

from supply.sheets import iter_rows, read_rows, validate_rows

__all__ = ["iter_rows", "read_rows", "validate_rows"]
