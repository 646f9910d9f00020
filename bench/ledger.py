"""Ledger benchmark: bulk import throughput, single-document post latency, subtree balances.

These are the three things a provincial network leans on after a disaster, and the three
that degrade first as a ledger grows:

* **Bulk import** - a province loads its opening stock, or a day of paper receipts, as one
  movements file. `import_movements` validates, simulates and posts it all or nothing, so
  its throughput decides whether a load takes seconds or blocks keepers for minutes.
* **Single-document posts** - a keeper at a township depot posts one issue or receipt at a
  time, each in its own transaction. Latency here is what every person at a terminal feels.
* **Subtree balances** - a city or the province asks "what do we hold below us?". The query
  takes the depot subtree from the closure table and returns one row per depot, item and
  batch, or one per item from the per-depot item totals the ledger keeps.

Every database gets the same seeded data: a five-tier tree of depots, an item catalogue
(half of it perishable, so lots carry expiry dates) and receipts that leave every depot
holding every lot of every item, i.e. depots x items x lots balance rows (250,000 with the
defaults). SQLite always runs on a fresh file; PostgreSQL runs in its own schema
(`relief_bench`), created and dropped around the run, so an existing database is never
touched.

Order of a run, per database: catalogue; the timed import of N movement lines into the
fresh ledger; an untimed set-up that posts receipts for the remaining (depot, lot) pairs
through `ledger.post_many`; 300 issues and 300 receipts, one transaction each; subtree
balances for a city and for the whole province; and `supply.verify` as a final audit.
The subtree queries repeat 20 times but stop after a time budget (at least three runs), so
a whole-province query of a quarter of a million rows cannot blow the run's time box.
"""

import argparse
import json
import math
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, col

from supply import ledger, migrate
from supply.db import make_engine, read_scope, session_scope
from supply.ledger import DocumentDraft, Line
from supply.models import (
    Balance,
    DepotCreate,
    DocumentKind,
    ItemCreate,
    Location,
    LocationKind,
    Tier,
)
from supply.services import stock
from supply.services.balances import balance_totals, balances
from supply.services.catalogue import ensure_default_categories, upsert_depots, upsert_items
from supply.services.lookup import (
    batch_for_receipt,
    ensure_virtual_locations,
    item_by_code,
    virtual,
)
from supply.services.movements_io import ImportKind, MovementRow, import_movements
from supply.verify import verify

HELP = "Ledger: bulk import throughput, single-document post latency, subtree balance queries."

#: The PostgreSQL schema the benchmark owns; dropped before and after each run.
PG_SCHEMA = "relief_bench"
ACTOR = "bench"

#: Targets (the ledger's service levels). The import target is stated for SQLite, the
#: single-user deployment a county runs on a laptop; PostgreSQL is reported against it
#: for information only.
IMPORT_TARGET_PER_S = 50_000.0
POST_TARGET_MS = 5.0
SUBTREE_TARGET_MS = 100.0

#: Share of the depots at each tier below the province (the rest are villages).
TIER_SHARES = ((Tier.CITY, 0.009, 2), (Tier.COUNTY, 0.09, 3), (Tier.TOWNSHIP, 0.3, 4))
TIER_LETTER = {
    Tier.PROVINCE: "P",
    Tier.CITY: "C",
    Tier.COUNTY: "X",
    Tier.TOWNSHIP: "T",
    Tier.VILLAGE: "V",
}
CATEGORIES = ("food_water", "shelter", "medical", "hygiene", "tools")


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True, slots=True)
class Settings:
    """Sizes of one run. `--quick` shrinks the network and the timed import."""

    movements: int = 100_000
    depots: int = 1_000
    items: int = 50
    lots_per_item: int = 5
    rows_per_reference: int = 5
    posts: int = 300
    warmup: int = 5
    queries: int = 20
    query_budget_s: float = 12.0
    setup_chunk_rows: int = 25_000
    seed: int = 0

    @property
    def balance_rows(self) -> int:
        return self.depots * self.items * self.lots_per_item


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Lot:
    """One batch of an item, as the receipts name it (same expiry every time)."""

    item: str
    lot: str
    expires_on: date | None
    produced_on: date | None


@dataclass(frozen=True, slots=True)
class Network:
    """The seeded catalogue and depot tree every database is loaded with."""

    depots: list[DepotCreate]
    items: list[ItemCreate]
    lots: list[Lot]
    province: str
    city: str

    def keys(self) -> list[tuple[str, Lot]]:
        """Every (depot, lot) pair: one balance row each once the set-up is done."""
        return [(d.code, lot) for d in self.depots for lot in self.lots]


def tier_counts(depots: int) -> list[tuple[Tier, int]]:
    """Depots per tier for a five-tier tree of `depots` depots (one province)."""
    if depots < 12:
        raise ValueError("the network needs at least 12 depots to span five tiers")
    counts = [(Tier.PROVINCE, 1)]
    floor = 1
    for tier, share, minimum in TIER_SHARES:
        floor = max(minimum, floor, round(depots * share))
        counts.append((tier, floor))
    counts.append((Tier.VILLAGE, depots - sum(n for _, n in counts)))
    if counts[-1][1] < 1:
        raise ValueError(f"cannot fit five tiers into {depots} depots")
    return counts


def build_network(settings: Settings, rng: random.Random, today: date) -> Network:
    """A balanced tree (each depot under the next-higher tier, round robin) and items."""
    depots: list[DepotCreate] = []
    parents: list[str] = []
    for tier, count in tier_counts(settings.depots):
        letter = TIER_LETTER[tier]
        codes = [f"{letter}{i:04d}" for i in range(1, count + 1)]
        for i, code in enumerate(codes):
            depots.append(
                DepotCreate(
                    code=code,
                    name=f"Bench {tier.value} depot {code}",
                    tier=tier,
                    parent_code=parents[i % len(parents)] if parents else None,
                    lat=round(rng.uniform(26.0, 34.0), 5),
                    lon=round(rng.uniform(97.0, 108.0), 5),
                    capacity_m3=float(rng.choice((300, 1_200, 4_800, 12_000))),
                )
            )
        parents = codes
    items: list[ItemCreate] = []
    lots: list[Lot] = []
    for n in range(1, settings.items + 1):
        code = f"ITEM-{n:03d}"
        perishable = n % 2 == 1  # half the catalogue has a shelf life
        shelf_life = rng.choice((180, 365, 730, 1095)) if perishable else None
        items.append(
            ItemCreate(
                code=code,
                name_zh=f"物资{n:03d}",
                name_en=f"Bench item {n:03d}",
                category=CATEGORIES[n % len(CATEGORIES)],
                unit=rng.choice(("case", "piece", "set", "box")),
                unit_weight_kg=round(rng.uniform(0.2, 40.0), 2),
                unit_volume_m3=round(rng.uniform(0.001, 0.3), 4),
                shelf_life_days=shelf_life,
                rotation_lead_days=60 if perishable else 0,
            )
        )
        for k in range(1, settings.lots_per_item + 1):
            expires_on = produced_on = None
            if shelf_life is not None:
                # Well in date, so the latency phase can issue every lot.
                expires_on = today + timedelta(days=rng.randint(120, 120 + shelf_life))
                produced_on = expires_on - timedelta(days=shelf_life)
            lots.append(Lot(code, f"LOT-{n:03d}-{k}", expires_on, produced_on))
    city = next(d.code for d in depots if d.tier == Tier.CITY)
    return Network(depots, items, lots, province=depots[0].code, city=city)


def receipt_rows(
    keys: Sequence[tuple[str, Lot]],
    *,
    prefix: str,
    first: int,
    per_reference: int,
    rng: random.Random,
    start: datetime,
) -> list[tuple[int, MovementRow]]:
    """Receipt rows for `keys`, `per_reference` rows to a reference (one document each).

    `first` is the index of keys[0] in the whole run, so references stay unique and
    grouped across chunks. Each row becomes two movement lines (supplier -> depot).
    """
    rows: list[tuple[int, MovementRow]] = []
    for offset, (depot, lot) in enumerate(keys):
        index = first + offset
        ref = index // per_reference
        row = MovementRow(
            reference=f"{prefix}-{ref:07d}",
            occurred_at=start + timedelta(seconds=ref),
            kind=ImportKind.RECEIPT,
            depot=depot,
            item=lot.item,
            lot=lot.lot,
            qty=rng.randint(10, 500),
            expires_on=lot.expires_on,
            produced_on=lot.produced_on,
        )
        rows.append((index + 2, row))  # line numbers as in a CSV file with a header
    return rows


# --------------------------------------------------------------------------- databases


@dataclass(frozen=True, slots=True)
class Target:
    """A database to measure: a display name and its URL."""

    name: str
    url: str

    @property
    def backend(self) -> str:
        return make_url(self.url).get_backend_name()

    @property
    def safe_url(self) -> str:
        return make_url(self.url).render_as_string(hide_password=True)


def _pg_admin(url: str, statement: str) -> None:
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


@contextmanager
def open_database(target: Target) -> Iterator[Engine]:
    """An empty ledger with its tables and virtual locations; removed again afterwards.

    SQLite goes through the Alembic migrations, as a real install does. PostgreSQL gets
    the tables from the models inside the benchmark's own schema, so the database the URL
    points at keeps whatever else it holds.
    """
    if target.backend == "sqlite":
        migrate.upgrade(target.url)
        engine = make_engine(target.url)
    elif target.backend == "postgresql":
        _pg_admin(target.url, f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")
        _pg_admin(target.url, f"CREATE SCHEMA {PG_SCHEMA}")
        engine = make_engine(target.url, connect_args={"options": f"-c search_path={PG_SCHEMA}"})
        SQLModel.metadata.create_all(engine)
    else:
        raise ValueError(f"unsupported database {target.backend!r} (SQLite or PostgreSQL)")
    try:
        with session_scope(engine) as session:
            ensure_virtual_locations(session)
            ensure_default_categories(session)
        yield engine
    finally:
        engine.dispose()
        if target.backend == "postgresql":
            _pg_admin(target.url, f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE")


def server_version(engine: Engine) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "SQLite " + str(conn.execute(text("select sqlite_version()")).scalar_one())
        return "PostgreSQL " + str(conn.execute(text("show server_version")).scalar_one())


# --------------------------------------------------------------------------- measuring


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (q in 0..100), as numpy's default computes it."""
    data = sorted(values)
    if not data:
        raise ValueError("no values")
    pos = (len(data) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int]:
    """p50/p95/mean/max in milliseconds of at least one timing."""
    ms = [s * 1000 for s in seconds]
    return {
        "n": len(ms),
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "max_ms": round(max(ms), 3),
    }


class Phases:
    """Rich progress on stderr, plus a one-line log per finished phase."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )

    def __enter__(self) -> "Phases":
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)  # type: ignore[arg-type]

    def task(self, description: str, total: int) -> Callable[[int], None]:
        """Start a task; the returned callback sets how much of it is done."""
        task_id = self.progress.add_task(description, total=total)

        def update(done: int) -> None:
            self.progress.update(task_id, completed=done)

        return update

    def log(self, message: str) -> None:
        self.progress.console.log(message, highlight=False)


def load_catalogue(engine: Engine, network: Network) -> float:
    """Items and depots, in one transaction; returns the seconds it took (for information)."""
    start = time.perf_counter()
    with session_scope(engine) as session:
        upsert_items(session, network.items)
        upsert_depots(session, network.depots)
    return time.perf_counter() - start


def timed_import(
    engine: Engine, rows: Sequence[tuple[int, MovementRow]], progress: Callable[[int], None]
) -> tuple[int, int, float]:
    """Import rows in one transaction, commit included; (documents, movements, seconds)."""
    start = time.perf_counter()
    with session_scope(engine) as session:
        result = import_movements(session, rows, actor=ACTOR, progress=progress)
    elapsed = time.perf_counter() - start
    return result.documents, result.movements, elapsed


def throughput(documents: int, movements: int, seconds: float, rows: int) -> dict[str, Any]:
    """Counts and rate of one import; the rate is None when nothing was posted."""
    return {
        "rows": rows,
        "documents": documents,
        "movements": movements,
        "seconds": round(seconds, 3),
        "movements_per_s": round(movements / seconds, 1) if movements and seconds else None,
    }


def measure_posts(
    engine: Engine,
    post: Callable[[Any], object],
    count: int,
    warmup: int,
    progress: Callable[[int], None],
) -> tuple[list[float], list[int]]:
    """Run `post` count+warmup times, each in its own committed transaction; the seconds
    and the SQL statements of each counted run.

    The first `warmup` runs fill SQLAlchemy's statement cache and the connection pool and
    are not counted: a long-running server never pays that cost per document. The
    statements (each a round trip to a server database; BEGIN counts where the driver
    sends it as one, COMMIT and the pool's ping do not) are the figure a loaded machine
    cannot blur.
    """
    times: list[float] = []
    statements: list[int] = []
    sent = [0]

    def count_statement(*_: Any) -> None:
        sent[0] += 1

    event.listen(engine, "before_cursor_execute", count_statement)
    try:
        for n in range(warmup + count):
            sent[0] = 0
            start = time.perf_counter()
            with session_scope(engine) as session:
                post(session)
            elapsed = time.perf_counter() - start
            if n >= warmup:
                times.append(elapsed)
                statements.append(sent[0])
            progress(n + 1)
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
    return times, statements


def measure_subtree(
    engine: Engine,
    depot: str,
    settings: Settings,
    progress: Callable[[int], None],
    *,
    totals: bool = False,
) -> dict[str, Any]:
    """`balances(depot, subtree=True)` (every lot row) or `balance_totals` (per item, summed
    in SQL) repeated; each call in a fresh session.

    Stops early (after at least three calls) once `query_budget_s` is spent, so a slow
    database cannot push the whole run past its time box; `runs` says how many were made.
    """
    times: list[float] = []
    rows = depots = 0
    while len(times) < settings.queries:
        if len(times) >= 3 and sum(times) >= settings.query_budget_s:
            break
        start = time.perf_counter()
        with read_scope(engine) as session:
            if totals:
                sums = balance_totals(session, depot=depot, subtree=True)
            else:
                result = balances(session, depot=depot, subtree=True)
        times.append(time.perf_counter() - start)
        if totals:
            rows = len(sums)
            depots = max((t.depots for t in sums), default=0)
        else:
            rows = len(result)
            depots = len({r.depot for r in result})
        progress(len(times))
    summary = latency_summary(times)
    summary.pop("n")
    return {"depot": depot, "depots": depots, "rows": rows, "runs": len(times), **summary}


def depot_balance_rows(engine: Engine) -> int:
    """Balance rows at depots (virtual locations left out): the set-up's coverage check."""
    with session_scope(engine) as session:
        stmt = (
            select(func.count())
            .select_from(Balance)
            .join(Location, col(Location.id) == col(Balance.location_id))
            .where(col(Location.kind) == LocationKind.DEPOT.value, col(Balance.on_hand) > 0)
        )
        return int(session.execute(stmt).scalar_one())


@dataclass(frozen=True, slots=True)
class Ids:
    """Database ids of the network, for posting drafts without per-row lookups."""

    supplier: int
    depots: dict[str, int]
    items: dict[str, int]
    batches: dict[tuple[str, str], int]


def resolve_ids(engine: Engine, network: Network) -> Ids:
    """Ids of depots, items and every lot (lots the timed import missed are created)."""

    def known(row_id: int | None) -> int:
        assert row_id is not None, "a flushed row has an id"
        return row_id

    with session_scope(engine) as session:
        supplier = known(virtual(session, LocationKind.SUPPLIER).id)
        depot_rows = session.execute(
            select(col(Location.code), col(Location.id)).where(
                col(Location.kind) == LocationKind.DEPOT.value
            )
        )
        depots: dict[str, int] = dict(depot_rows.tuples().all())
        items = {i.code: item_by_code(session, i.code) for i in network.items}
        batches = {
            (lot.item, lot.lot): known(
                batch_for_receipt(
                    session,
                    items[lot.item],
                    lot.lot,
                    expires_on=lot.expires_on,
                    produced_on=lot.produced_on,
                ).id
            )
            for lot in network.lots
        }
    return Ids(supplier, depots, {code: known(item.id) for code, item in items.items()}, batches)


def _offset(progress: Callable[[int], None], base: int) -> Callable[[int], None]:
    """A progress callback for one chunk that reports on the whole task's scale."""

    def update(done: int) -> None:
        progress(base + done)

    return update


def fill_ledger(
    engine: Engine,
    network: Network,
    keys: Sequence[tuple[str, Lot]],
    settings: Settings,
    rng: random.Random,
    start: datetime,
    progress: Callable[[int], None],
) -> dict[str, Any]:
    """Receipts for `keys`, posted in chunks through `ledger.post_many`.

    This is set-up, not a measurement: it only has to leave one balance row per key,
    quickly. Posting drafts with ids resolved once skips `import_movements`' per-row
    lookups (which dominate its cost) while still going through the ledger's single
    write path, so documents, movements and balances stay consistent. Each chunk's rate
    is kept anyway: it shows how posting slows as the balance table fills.
    """
    ids = resolve_ids(engine, network)
    per_ref = settings.rows_per_reference
    chunk = max(per_ref, settings.setup_chunk_rows - settings.setup_chunk_rows % per_ref)
    chunks: list[dict[str, Any]] = []
    done = documents = movements = 0
    seconds = 0.0
    for first in range(0, len(keys), chunk):
        part = keys[first : first + chunk]
        drafts: list[DocumentDraft] = []
        for at in range(0, len(part), per_ref):
            lines: list[Line] = []
            for depot, lot in part[at : at + per_ref]:
                item_id = ids.items[lot.item]
                batch_id = ids.batches[(lot.item, lot.lot)]
                qty = rng.randint(10, 500)
                lines.append(Line(ids.supplier, item_id, batch_id, -qty))
                lines.append(Line(ids.depots[depot], item_id, batch_id, qty))
            ref = (first + at) // per_ref
            drafts.append(
                DocumentDraft(
                    kind=DocumentKind.RECEIPT,
                    lines=lines,
                    actor=ACTOR,
                    occurred_at=start + timedelta(seconds=ref),
                    reference=f"SETUP-{ref:07d}",
                )
            )
        moved = sum(len(d.lines) for d in drafts)
        began = time.perf_counter()
        with session_scope(engine) as session:
            ledger.post_many(session, drafts, progress=_offset(progress, done))
        elapsed = time.perf_counter() - began
        chunks.append(
            {
                "balance_rows_before": first + (settings.balance_rows - len(keys)),
                "movements": moved,
                "movements_per_s": round(moved / elapsed, 1),
            }
        )
        done += moved
        documents += len(drafts)
        movements += moved
        seconds += elapsed
    progress(done)
    return {**throughput(documents, movements, seconds, len(keys)), "chunks": chunks}


def refresh_statistics(engine: Engine) -> bool:
    """ANALYZE on PostgreSQL, as autovacuum would after a load this size.

    A production server runs autovacuum, which analyses a table once a fifth of it has
    changed; test servers often turn it off, and a planner without statistics would make
    the query figures describe a database nobody runs. SQLite is left alone: nothing in
    the project runs ANALYZE there, so its planner works without statistics in production
    too. Returns whether statistics were refreshed.
    """
    if engine.dialect.name != "postgresql":
        return False
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return True


def audit(engine: Engine, progress: Callable[[int], None]) -> dict[str, Any]:
    """`supply.verify`: balances rebuilt from movements must match the stored ones."""
    start = time.perf_counter()
    with session_scope(engine) as session:
        report = verify(session)
    progress(1)
    return {
        "ok": report.ok,
        "balances_checked": report.balances_checked,
        "movements": report.movements,
        "problems": report.problems[:20],
        "seconds": round(time.perf_counter() - start, 2),
    }


def bench_database(
    target: Target, settings: Settings, phases: Phases, today: date
) -> dict[str, Any]:
    """Every measurement on one database; the same seed gives every database the same data."""
    rng = random.Random(settings.seed)
    network = build_network(settings, rng, today)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
    label = target.name
    out: dict[str, Any] = {"name": target.name, "url": target.safe_url}
    with open_database(target) as engine:
        out["version"] = server_version(engine)
        out["catalogue_seconds"] = round(load_catalogue(engine, network), 3)
        phases.log(
            f"{label}: {len(network.depots):,} depots and {len(network.items)} items "
            f"loaded in {out['catalogue_seconds']:.2f} s"
        )

        # 1. Bulk import throughput: a fresh ledger takes N movement lines in one file.
        keys = network.keys()
        rng.shuffle(keys)
        timed_count = math.ceil(settings.movements / 2)
        timed_keys = [keys[i % len(keys)] for i in range(timed_count)]
        rows = receipt_rows(
            timed_keys,
            prefix="BULK",
            first=0,
            per_reference=settings.rows_per_reference,
            rng=rng,
            start=start,
        )
        docs, moved, seconds = timed_import(
            engine, rows, phases.task(f"{label}: bulk import (timed)", 2 * len(rows))
        )
        del rows
        out["import"] = throughput(docs, moved, seconds, timed_count)
        phases.log(
            f"{label}: imported {moved:,} movements in {seconds:.2f} s "
            f"({out['import']['movements_per_s']:,.0f}/s)"
        )

        # Set-up (not in the throughput figure): receipts for every (depot, lot) pair the
        # timed import did not reach, so the ledger holds depots x items x lots balances.
        out["setup"] = fill_ledger(
            engine,
            network,
            keys[timed_count:],
            settings,
            rng,
            start,
            phases.task(f"{label}: set-up (ledger.post_many)", 2 * len(keys[timed_count:])),
        )
        out["balance_rows"] = depot_balance_rows(engine)
        setup = out["setup"]
        phases.log(
            f"{label}: set-up posted {setup['movements']:,} movements in "
            f"{setup['seconds']:.2f} s; {out['balance_rows']:,} depot balance rows"
        )
        out["analyzed"] = refresh_statistics(engine)

        # 2. Single-document posts, one committed transaction each.
        picks = rng.sample(keys, settings.posts + settings.warmup)
        it = iter(picks)
        meta = stock.Meta(actor=ACTOR)

        def issue_one(session: Any) -> object:
            depot, lot = next(it)
            return stock.issue(session, depot=depot, item=lot.item, qty=1, lot=lot.lot, meta=meta)

        times, statements = measure_posts(
            engine,
            issue_one,
            settings.posts,
            settings.warmup,
            phases.task(f"{label}: single issues", settings.posts + settings.warmup),
        )
        out["issue"] = {**latency_summary(times), "statements": statistics.median(statements)}

        picks = rng.sample(keys, settings.posts + settings.warmup)
        quantities = [rng.randint(1, 100) for _ in picks]
        it2 = iter(zip(picks, quantities, strict=True))

        def receive_one(session: Any) -> object:
            (depot, lot), qty = next(it2)
            return stock.receive(
                session,
                depot=depot,
                item=lot.item,
                qty=qty,
                lot=lot.lot,
                expires_on=lot.expires_on,
                produced_on=lot.produced_on,
                meta=meta,
            )

        times, statements = measure_posts(
            engine,
            receive_one,
            settings.posts,
            settings.warmup,
            phases.task(f"{label}: single receipts", settings.posts + settings.warmup),
        )
        out["receive"] = {**latency_summary(times), "statements": statistics.median(statements)}
        phases.log(
            f"{label}: issue p50 {out['issue']['p50_ms']:.2f} ms, "
            f"receipt p50 {out['receive']['p50_ms']:.2f} ms"
        )

        # 3. Subtree balances: one city's subtree, then the whole province.
        out["subtree"] = {}
        for scope, depot, totals in (
            ("city lots", network.city, False),
            ("province lots", network.province, False),
            ("city item totals", network.city, True),
            ("province item totals", network.province, True),
        ):
            result = measure_subtree(
                engine,
                depot,
                settings,
                phases.task(f"{label}: {scope} subtree balances", settings.queries),
                totals=totals,
            )
            out["subtree"][scope] = result
            phases.log(
                f"{label}: {scope} subtree {result['rows']:,} rows, p50 {result['p50_ms']:.1f} ms"
            )

        # Last, the audit: every figure above is worthless if the ledger is wrong.
        out["verify"] = audit(engine, phases.task(f"{label}: verify (audit)", 1))
        phases.log(
            f"{label}: verify {'ok' if out['verify']['ok'] else 'FAILED'} "
            f"({out['verify']['balances_checked']:,} balances, "
            f"{out['verify']['movements']:,} movements, {out['verify']['seconds']:.1f} s)"
        )
    return out


# --------------------------------------------------------------------------- reporting


@dataclass(slots=True)
class Check:
    """One line of the report: a figure and, when it has one, its target."""

    database: str
    metric: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None


def checks_for(result: dict[str, Any]) -> list[Check]:
    """The table rows of one database's results, judged against the targets."""
    db = result["name"]
    rows: list[Check] = []
    imp = result["import"]
    rate = imp["movements_per_s"]
    is_sqlite = result["url"].startswith("sqlite")
    rows.append(
        Check(
            db,
            f"bulk import ({imp['movements']:,} movements)",
            rate,
            "movements/s",
            f"≥ {IMPORT_TARGET_PER_S:,.0f}/s" if is_sqlite else "",
            rate >= IMPORT_TARGET_PER_S if is_sqlite else None,
        )
    )
    setup = result["setup"]
    if setup["movements_per_s"] is not None:
        rows.append(
            Check(
                db,
                f"set-up post_many ({setup['movements']:,} movements, filling to "
                f"{result['balance_rows']:,} balances; info)",
                setup["movements_per_s"],
                "movements/s",
            )
        )
    for kind, name in (("issue", "issue"), ("receive", "receipt")):
        lat = result[kind]
        rows.append(
            Check(
                db,
                f"single {name} post p50 (n={lat['n']})",
                lat["p50_ms"],
                "ms",
                f"≤ {POST_TARGET_MS:g} ms",
                lat["p50_ms"] <= POST_TARGET_MS,
            )
        )
        rows.append(Check(db, f"single {name} post p95", lat["p95_ms"], "ms"))
        rows.append(Check(db, f"SQL statements per single {name} (median)", lat["statements"], ""))
    for scope, sub in result["subtree"].items():
        rows.append(
            Check(
                db,
                f"{scope} subtree balances p50 ({sub['depot']}: {sub['depots']:,} depots, "
                f"{sub['rows']:,} rows, {sub['runs']} runs)",
                sub["p50_ms"],
                "ms",
                f"≤ {SUBTREE_TARGET_MS:g} ms",
                sub["p50_ms"] <= SUBTREE_TARGET_MS,
            )
        )
    audit_result = result["verify"]
    rows.append(
        Check(
            db,
            f"ledger audit: balances = sum of movements ({audit_result['movements']:,} lines)",
            audit_result["seconds"],
            "s",
            "consistent",
            audit_result["ok"],
        )
    )
    return rows


def _fmt(value: float, unit: str) -> str:
    if not unit:
        return f"{value:g}"
    if unit == "ms":
        return f"{value:,.2f} ms"
    if unit == "s":
        return f"{value:,.1f} s"
    return f"{value:,.0f} {unit}"


def render_table(checks: Sequence[Check], errors: dict[str, str], settings: Settings) -> Table:
    """depot database | metric | value | target | ok?"""
    title = (
        f"Ledger benchmark: {settings.depots:,} depots x {settings.items} items x "
        f"{settings.lots_per_item} lots = {settings.balance_rows:,} balances"
    )
    table = Table(title=title, show_lines=False)
    table.add_column("depot database")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("target", justify="right")
    table.add_column("ok?", justify="center")
    for c in checks:
        ok = "—" if c.ok is None else ("[green]yes[/]" if c.ok else "[bold red]NO[/]")
        table.add_row(c.database, c.metric, _fmt(c.value, c.unit), c.target or "—", ok)
    for name, message in errors.items():
        table.add_row(
            name, f"[red]failed to run:[/] {escape(message)}", "—", "—", "[bold red]NO[/]"
        )
    return table


def environment() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "sqlalchemy": sqlalchemy.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `python -m bench ledger`."""
    parser.add_argument(
        "--db",
        action="append",
        default=[],
        metavar="URL",
        help="an extra database to measure (repeatable): a PostgreSQL URL (the benchmark "
        f"works in its own schema {PG_SCHEMA!r}) or a SQLite URL to a file that does not "
        "exist yet. A fresh temporary SQLite file is always measured.",
    )
    parser.add_argument(
        "--pg",
        metavar="URL",
        default=os.environ.get("TEST_DATABASE_URL") or None,
        help="PostgreSQL URL to measure too (default: $TEST_DATABASE_URL if set)",
    )
    parser.add_argument(
        "--movements",
        type=int,
        default=None,
        metavar="N",
        help="movement lines in the timed bulk import (default 100,000; 10,000 with --quick)",
    )
    parser.add_argument(
        "--depots",
        type=int,
        default=None,
        help="depots in the network (default 1,000; 100 with --quick)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 10,000 movements, 100 depots"
    )
    parser.add_argument(
        "--json-out", type=Path, metavar="FILE", help="also write the JSON result here"
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a target is missed (a database that fails to run always does)",
    )


def targets_from(args: argparse.Namespace, workdir: Path) -> list[Target]:
    """SQLite first (always), then PostgreSQL from --pg / $TEST_DATABASE_URL, then --db."""
    targets = [Target("sqlite", f"sqlite:///{workdir / 'bench.db'}")]
    urls = ([args.pg] if args.pg else []) + list(args.db)
    seen: set[str] = set()
    for url in urls:
        if url in seen:
            continue
        seen.add(url)
        parsed = make_url(url)
        backend = parsed.get_backend_name()
        if backend == "sqlite":
            path = parsed.database
            if not path or path == ":memory:" or Path(path).exists():
                raise SystemExit(
                    f"--db {url}: give a SQLite file that does not exist yet; the benchmark "
                    "fills it with hundreds of thousands of rows"
                )
        elif backend != "postgresql":
            raise SystemExit(f"--db {url}: only SQLite and PostgreSQL are supported")
        name = backend if backend not in {t.name for t in targets} else f"{backend} #{len(targets)}"
        targets.append(Target(name, url))
    return targets


def settings_from(args: argparse.Namespace) -> Settings:
    defaults = Settings()
    movements = args.movements or (10_000 if args.quick else defaults.movements)
    depots = args.depots or (100 if args.quick else defaults.depots)
    if movements < 2:
        raise SystemExit("--movements must be at least 2 (each receipt row is two lines)")
    try:
        tier_counts(depots)
    except ValueError as exc:
        raise SystemExit(f"--depots {depots}: {exc}") from exc
    return Settings(movements=movements, depots=depots, seed=args.seed)


def run(args: argparse.Namespace) -> int:
    """Measure every database, print the table and the JSON; 1 if anything failed."""
    settings = settings_from(args)
    err = Console(stderr=True)
    out = Console(soft_wrap=False)
    if not out.is_terminal:
        out.width = max(out.width, 150)  # a log file has room; do not wrap the table
    today = date.today()
    results: list[dict[str, Any]] = []
    errors: dict[str, str] = {}
    began = time.perf_counter()
    env = environment()  # taken first, so started_at is when the run started
    with tempfile.TemporaryDirectory(prefix="relief-bench-") as tmp:
        targets = targets_from(args, Path(tmp))
        with Phases(err) as phases:
            for target in targets:
                try:
                    results.append(bench_database(target, settings, phases, today))
                except Exception as exc:  # report the others even if one database fails
                    errors[target.name] = f"{type(exc).__name__}: {exc}".splitlines()[0]
                    phases.log(f"[red]{target.name} failed:[/] {escape(errors[target.name])}")
    checks = [c for r in results for c in checks_for(r)]
    out.print(render_table(checks, errors, settings))
    missed = [c for c in checks if c.ok is False]
    document = {
        "benchmark": "ledger",
        "settings": asdict(settings),
        "targets": {
            "import_movements_per_s_sqlite": IMPORT_TARGET_PER_S,
            "post_p50_ms": POST_TARGET_MS,
            "subtree_p50_ms": SUBTREE_TARGET_MS,
        },
        "environment": env,
        "wall_seconds": round(time.perf_counter() - began, 1),
        "databases": results,
        "errors": errors,
        "checks": [asdict(c) for c in checks],
        "ok": not errors and not missed,
    }
    text_out = json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False)
    print(text_out)
    sys.stdout.flush()
    if args.json_out:
        args.json_out.write_text(text_out + "\n", encoding="utf-8")
    if errors or (args.strict and missed):
        return 1
    return 0
