"""The staff request list's filters: what the pane asks for, turned into a `RequestFilter`.

Staff pick calendar days in the center's time zone; the database holds UTC instants, so a day
becomes the half-open range from its local midnight to the next. The status filter takes one
status, a group of them, or both, each once.

(Its own module while `service_requests` becomes a package: it belongs to that package's query
side.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from chatsvc.actions.service_requests.checks import InvalidRequest
from chatsvc.actions.service_requests.queries import RequestFilter


@dataclass(frozen=True)
class RequestListQuery:
    """The request list as a staff member filters it: every part is optional."""

    status: str | None = None
    statuses: tuple[str, ...] = ()  # a group, e.g. open and in progress
    department: str | None = None
    service_code: str | None = None
    start: date | None = None  # requested on or after this local day
    end: date | None = None  # requested on or before this local day
    page: int = 1


def local_midnight(day: date, zone: ZoneInfo, days: int = 0) -> datetime:
    """The start of a calendar day (plus `days`) in the center's time zone, in UTC."""
    start = day + timedelta(days=days)
    return datetime(start.year, start.month, start.day, tzinfo=zone).astimezone(UTC)


def requested_between(
    start: date | None, end: date | None, zone: ZoneInfo
) -> tuple[datetime | None, datetime | None]:
    """The UTC range of the local days from `start` through `end` (either open-ended)."""
    since = local_midnight(start, zone) if start else None
    until = local_midnight(end, zone, days=1) if end else None
    if since is not None and until is not None and until <= since:
        raise InvalidRequest("The “to” date is before the “from” date.", field="end")
    return since, until


def status_group(status: str | None, statuses: tuple[str, ...]) -> tuple[str, ...]:
    """The statuses to list: the one named first, then the group's, each once."""
    return tuple(dict.fromkeys([*([status] if status else []), *statuses]))


def request_filter(query: RequestListQuery, *, zone: ZoneInfo, per_page: int) -> RequestFilter:
    """Turn the pane's filters into the query's, for one page of `per_page` requests."""
    start, end = requested_between(query.start, query.end, zone)
    return RequestFilter(
        statuses=status_group(query.status, query.statuses),
        department=query.department,
        service_code=query.service_code,
        start=start,
        end=end,
        limit=per_page,
        offset=(query.page - 1) * per_page,
    )
