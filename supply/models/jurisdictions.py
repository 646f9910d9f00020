"""Jurisdictions (行政区划): the administrative tree depots and users belong to.

A depot belongs to at most one jurisdiction (`location.jurisdiction_id`); a user scoped to
a jurisdiction (`app_user.jurisdiction_id`) releases stock only at depots of that
jurisdiction or below it. Depots and users with no jurisdiction belong to the whole bureau.
"""

from enum import StrEnum

from sqlalchemy import CheckConstraint, String, false
from sqlmodel import Field, SQLModel


class Level(StrEnum):
    """Administrative levels, from the top."""

    PROVINCE = "province"  # 省
    CITY = "city"  # 市
    COUNTY = "county"  # 县/区
    TOWNSHIP = "township"  # 乡镇/街道


#: Depth of each level: a jurisdiction's parent is of a smaller one.
LEVEL_RANK: dict[Level, int] = {level: rank for rank, level in enumerate(Level)}

_LEVELS = ", ".join(f"'{level.value}'" for level in Level)


class Jurisdiction(SQLModel, table=True):
    __tablename__ = "jurisdiction"
    __table_args__ = (CheckConstraint(f"level IN ({_LEVELS})", name="level_known"),)

    id: int | None = Field(default=None, primary_key=True)
    #: The administrative division code (行政区划代码), e.g. 210381 for Haicheng.
    code: str = Field(max_length=12, unique=True)
    name: str = Field(max_length=200)
    level: str = Field(sa_type=String(16))
    parent_id: int | None = Field(default=None, foreign_key="jurisdiction.id", index=True)
    #: Whether its neighbours' keepers may see its depots' stock (they lend from it).
    shares_with_neighbours: bool = Field(
        default=False, sa_column_kwargs={"server_default": false()}
    )


class Neighbour(SQLModel, table=True):
    """Two jurisdictions that border each other (相邻): a symmetric relation, stored once
    with the smaller id first, so "A borders B" and "B borders A" are one row."""

    __tablename__ = "jurisdiction_neighbour"
    __table_args__ = (CheckConstraint("low_id < high_id", name="ordered"),)

    low_id: int = Field(foreign_key="jurisdiction.id", primary_key=True)
    high_id: int = Field(foreign_key="jurisdiction.id", primary_key=True, index=True)
