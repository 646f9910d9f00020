"""The stock ledger and its services."""
