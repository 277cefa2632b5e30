"""History's export: `GET /api/v1/sessions/export`, the sessions History's filters find, as a CSV or JSON download.

The same export as MCP `export_sessions` (`AnalysisService.export`: one row per session with its
post-call analysis, CSV formulas neutralised), behind the same admin token and `sessions:read`.
Bounded like it: a window of at most `EXPORT_DAYS_MAX` days (History's From/To; without them, the
last `EXPORT_DAYS_MAX` days up to To or now) and at most `EXPORT_ROWS_MAX` sessions, newest first.
The response says how many rows it holds and whether more matched (`X-Oratio-Export-Count`,
`X-Oratio-Export-Truncated`), so the page can say "narrow the window" instead of silently cutting.
Transcript search (`q`) is History's other filter; an export cannot apply it, so it is refused with a
400 rather than exporting rows the admin did not see.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import Field
from starlette.responses import Response

from oratio.errors import InvalidInput
from oratio.services.analysis import EXPORT_DAYS_MAX, EXPORT_ROWS_MAX
from oratio.services.sessions import SEARCH_TEXT_MAX
from schemas import Channel, Identifier, Model, SessionFilter, SessionStatus, utcnow
from schemas._base import UtcDatetime
from schemas.analysis import Outcome

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
COUNT_HEADER = "X-Oratio-Export-Count"
TRUNCATED_HEADER = "X-Oratio-Export-Truncated"

__all__ = ["COUNT_HEADER", "EXPORT_DAYS_MAX", "EXPORT_ROWS_MAX", "TRUNCATED_HEADER", "ExportQuery", "download"]


class ExportQuery(Model):
    """History's filters, plus the file format."""

    format: Literal["csv", "json"] = "csv"
    agent_id: Identifier | None = None
    status: SessionStatus | None = None
    channel: Channel | None = None
    outcome: Outcome | None = None
    started_after: UtcDatetime | None = None  # UtcDatetime: a time out of range once in UTC is a 422
    started_before: UtcDatetime | None = None
    q: str | None = Field(default=None, max_length=SEARCH_TEXT_MAX)

    def session_filter(self) -> SessionFilter:
        """The window made explicit: To defaults to now, From to `EXPORT_DAYS_MAX` days before To."""
        if self.q is not None and self.q.strip():
            raise InvalidInput("an export cannot filter on transcript text: clear the search to export", field="q")
        before = self.started_before or utcnow()
        # Never earlier than datetime's own minimum: a To in the year 1 must not overflow into a 500.
        earliest = datetime.min.replace(tzinfo=UTC)
        span = timedelta(days=EXPORT_DAYS_MAX)
        after = self.started_after or (before - span if before - earliest > span else earliest)
        if after > before:
            raise InvalidInput("started_after is later than started_before", field="started_after")
        fields = self.model_dump(include={"agent_id", "status", "channel", "outcome"})
        return SessionFilter(**fields, started_after=after, started_before=before)


def download(query: ExportQuery, found: SessionFilter, content: str, count: int, truncated: bool) -> Response:
    """The export as an attachment named after its window, with its row count and truncation stated."""
    assert found.started_after is not None and found.started_before is not None  # set by `session_filter`
    window = f"{_day(found.started_after)}-{_day(found.started_before)}"
    headers = {
        "Content-Disposition": f'attachment; filename="oratio-sessions-{window}.{query.format}"',
        COUNT_HEADER: str(count),
        TRUNCATED_HEADER: "true" if truncated else "false",
        "Cache-Control": "no-store",
    }
    return Response(content, media_type=MEDIA_TYPES[query.format], headers=headers)


def _day(moment: datetime) -> str:
    """YYYYMMDD with a four-digit year always (`%Y` prints year 1 as "1" on glibc)."""
    return f"{moment.year:04d}{moment:%m%d}"
