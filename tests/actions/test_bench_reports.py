"""bench/reports.py on a small year: what it generates is what the reports find, so the bench
does not rot (the year itself is measured by `make bench-reports`)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

from chatsvc.catalogue.knowledge import load_knowledge_base
from chatsvc.db.database import Database
from chatsvc.hours import BusinessCalendar
from chatsvc.reports import AfterHoursReport, ChatFigures, RequestsReport
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE

BENCH = Path(__file__).resolve().parents[2] / "bench" / "reports.py"
NOW = datetime(2026, 12, 2, 19, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Pasadena: open


def bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_reports", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look themselves up there
    spec.loader.exec_module(module)
    return module


async def test_a_small_year_is_what_the_reports_find(sqlite_db: Database) -> None:
    bench = bench_module()
    kb = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    calendar = BusinessCalendar.from_settings(sqlite_db.settings)
    year = bench.generate(
        chats=60, requests=300, after_hours=12, now=NOW, calendar=calendar, kb=kb, seed=3
    )
    expected = year.expected
    # Every kind of chat the bench means to time is there, even this small.
    for kind in ("answered_by_agent", "contained_by_assistant", "abandoned_waiting", "ratings"):
        assert expected[kind] > 0, kind
    assert expected["offered"] == 60 and expected["requests"] == 300
    assert 0 < expected["requests_resolved"] < 300 and expected["requests_overdue"] > 0

    await bench.load(sqlite_db, year)
    # The reference run undoes the reports' indexes and puts them back.
    await bench.migrate(sqlite_db, bench.REFERENCE_REVISION, down=True)
    await bench.migrate(sqlite_db, "head")

    whole = bench.periods(NOW, calendar.zone)["year"]
    chats = await bench.REPORTS["chats"](sqlite_db, whole, NOW, kb)
    assert isinstance(chats, ChatFigures)
    found = chats.chats
    assert found.offered == expected["offered"]
    assert found.answered_by_agent == expected["answered_by_agent"]
    assert found.contained_by_assistant == expected["contained_by_assistant"]
    assert found.abandoned_waiting == expected["abandoned_waiting"]
    assert found.in_progress == expected["in_progress"]
    assert found.transfers == expected["transfers"]
    assert found.ratings == expected["ratings"]
    requests = await bench.REPORTS["requests"](sqlite_db, whole, NOW, kb)
    assert isinstance(requests, RequestsReport)
    assert requests.opened == 300
    assert requests.resolved == expected["requests_resolved"]
    assert requests.overdue_now == expected["requests_overdue"]
    assert requests.by_topic[0].name is not None  # named from the catalogue
    after_hours = await bench.REPORTS["after-hours"](sqlite_db, whole, NOW, kb)
    assert isinstance(after_hours, AfterHoursReport)
    assert after_hours.left == expected["after_hours_left"]
    assert after_hours.spam == expected["after_hours_spam"]
    assert after_hours.left + after_hours.spam == 12

    timings = await bench.time_reports(sqlite_db, NOW, kb, runs=1)
    assert set(timings) == {
        (name, period) for name in bench.REPORTS for period in ("today", "week", "month", "year")
    }
    assert all(len(t.wall) == len(t.cpu) == 1 and t.wall[0] > 0 for t in timings.values())
