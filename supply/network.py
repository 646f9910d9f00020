"""The depot network's tiers and the response target: plain values, no tables.

The CLI reads them when it builds a command's options (`relief quotas gaps --tier`, its
`--within` default), so they live apart from `supply.models`, whose import loads
SQLAlchemy, SQLModel and every table. `supply.models` re-exports `Tier`.
"""

from enum import StrEnum


class Tier(StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"


#: The bureaus' headline target: basic living supplies reach residents within 10 hours.
TARGET_HOURS = 10.0
