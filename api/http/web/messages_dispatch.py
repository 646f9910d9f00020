"""The dispatcher's and planner's pages' words, Chinese first.

Kept apart from the shared catalogue so each area of the console adds its words in its own
file; `messages.py` joins them and refuses a key defined twice.
"""

DISPATCH_PAIRS: dict[str, tuple[str, str]] = {}
