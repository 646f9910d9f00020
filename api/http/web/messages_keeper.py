"""The keeper's pages' words (stock, rotation, agreements, quotas, forms), Chinese first.

Kept apart from the shared catalogue so each area of the console adds its words in its own
file; `messages.py` joins them and refuses a key defined twice.
"""

KEEPER_PAIRS: dict[str, tuple[str, str]] = {}
