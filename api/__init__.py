"""The faces of relief-supply: the `relief` CLI (and, later, the HTTP API)."""
