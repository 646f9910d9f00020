"""The reserve catalogue: what kinds of relief supplies exist and how they are measured."""

from pydantic import field_validator
from sqlalchemy import CheckConstraint
from sqlmodel import Field, SQLModel


class ItemCategory(SQLModel, table=True):
    """A category of the reserve catalogue (储备目录): items must name one, so a typo does not
    become a category of its own. Seeded with the usual ones; the bureau adds its own
    (`relief catalog categories add`)."""

    __tablename__ = "item_category"

    code: str = Field(primary_key=True, max_length=64)
    name_zh: str = Field(max_length=200)
    name_en: str = Field(max_length=200)


#: The categories a new ledger starts with (the migration seeds the same list).
DEFAULT_CATEGORIES: tuple[tuple[str, str, str], ...] = (
    ("food_water", "食品饮用水", "Food and drinking water"),
    ("shelter", "帐篷篷布", "Tents and shelter"),
    ("bedding", "被服", "Bedding"),
    ("clothing", "衣物", "Clothing"),
    ("medical", "医疗卫生", "Medical"),
    ("hygiene", "清洁卫生", "Hygiene"),
    ("lighting", "照明", "Lighting"),
    ("power", "电力", "Power"),
    ("rescue", "救援器材", "Rescue equipment"),
    ("tools", "工具", "Tools"),
    ("communication", "通信", "Communication"),
)


class ItemBase(SQLModel):
    code: str = Field(min_length=1, max_length=64, unique=True)
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=64)
    unit: str = Field(min_length=1, max_length=32)
    unit_weight_kg: float = Field(ge=0)
    unit_volume_m3: float = Field(ge=0)
    shelf_life_days: int | None = Field(default=None, gt=0)
    rotation_lead_days: int = Field(default=0, ge=0)


class Item(ItemBase, table=True):
    """A catalogue item; stock of it is counted in integer `unit`s."""

    __tablename__ = "item"
    __table_args__ = (
        CheckConstraint("unit_weight_kg >= 0", name="weight_nonneg"),
        CheckConstraint("unit_volume_m3 >= 0", name="volume_nonneg"),
        CheckConstraint("rotation_lead_days >= 0", name="lead_nonneg"),
    )

    id: int | None = Field(default=None, primary_key=True)


class ItemCreate(ItemBase):
    @field_validator("code")
    @classmethod
    def _strip_code(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value


class ItemRead(ItemBase):
    id: int
