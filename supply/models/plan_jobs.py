"""Plans run by the server in the background: one row per job, kept in the database so a
restarted server shows which jobs it lost rather than forgetting them."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, LargeBinary, String, Text, false
from sqlmodel import Field, SQLModel

from supply.db import UTCDateTime


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    LOST = "lost"  # the server stopped while it was queued or running
    CANCELLED = "cancelled"  # a user asked; a running plan's result is discarded

    @property
    def finished(self) -> bool:
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.LOST, JobStatus.CANCELLED)


_STATUSES = ", ".join(f"'{s.value}'" for s in JobStatus)


class PlanJob(SQLModel, table=True):
    """A plan of a scenario (from the ledger's stock or the scenario's own), its progress,
    and its result: the plan document (JSON), or why there is none."""

    __tablename__ = "plan_job"
    __table_args__ = (
        CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
        CheckConstraint("time_limit_s IS NULL OR time_limit_s > 0", name="limit_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    status: str = Field(sa_type=String(16), index=True)
    scenario: str = Field(max_length=64)
    from_ledger: bool = True
    routes: bool = True
    #: Plan from shared depots of the planning jurisdiction's neighbours too (borrowed
    #: sources, ready `aid_lead_hours` later: the loan must be approved first).
    neighbours: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    aid_lead_hours: float | None = None
    #: Whose depots are the plan's own (the requesting user's jurisdiction; none: all).
    jurisdiction: str | None = Field(default=None, max_length=12)
    time_limit_s: float | None = None
    deadline_hours: float | None = None
    requested_by: str = Field(max_length=100)
    created_at: datetime = Field(sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The planner's last progress message, and how many it has sent.
    progress: str | None = Field(default=None, max_length=500)
    progress_count: int = 0
    error: str | None = Field(default=None, max_length=2000)
    plan_json: str | None = Field(default=None, sa_type=Text)
    #: The dispatch plan number once approved (`dispatch.approve`).
    approved_as: str | None = Field(default=None, max_length=32)


class PlanJobFile(SQLModel, table=True):
    """A file of a done job's plan (GeoJSON, CSV, manifests, figure), made by the planner's
    process with `optimizer.plan_files` as `relief plan --out` writes them."""

    __tablename__ = "plan_job_file"

    job_id: int = Field(foreign_key="plan_job.id", primary_key=True)
    name: str = Field(max_length=64, primary_key=True)
    body: bytes = Field(sa_type=LargeBinary)
