"""Times at the edges of the calendar are a 422 or a plain answer, never a 500 (red team, issue 19).

`datetime` covers the years 1 to 9999. A time inside that range in its own offset can fall outside
it in UTC (`9999-12-31T23:59:59-10:00`, `0001-01-01T00:30:00+01:00`): converting it raised
OverflowError, which pydantic does not turn into a validation error, so History's list and the
export answered 500 (and dropped the connection). The export's default window ("31 days before
To") overflowed the same way for a To in the first days of year 1. Now: a 422 naming the field,
and the window starts no earlier than the calendar does.
"""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from schemas import SessionFilter
from tests.dashboard.dash import Dash

EXPORT = "/api/v1/sessions/export"
LIST = "/api/v1/sessions"

PAST_UTC = [
    ("started_after", "9999-12-31T23:59:59-10:00"),
    ("started_before", "9999-12-31T23:59:59-10:00"),
    ("started_after", "0001-01-01T00:30:00+01:00"),
    ("started_before", "0001-01-01T00:00:00+14:00"),
]


@pytest.mark.parametrize("path", [EXPORT, LIST])
@pytest.mark.parametrize(("field", "value"), PAST_UTC)
def test_a_time_outside_the_calendar_in_utc_is_a_422_naming_it(
    http: httpx.Client, dash: Dash, path: str, field: str, value: str
) -> None:
    response = http.get(path, params={field: value}, headers=dash.bearer())

    assert response.status_code == 422, response.text
    assert response.json()["error"] == "invalid_input" and response.json()["field"] == field
    assert "out of range" in response.json()["message"]


def test_an_export_up_to_the_first_day_of_the_calendar_is_an_empty_download(http: httpx.Client, dash: Dash) -> None:
    response = http.get(EXPORT, params={"started_before": "0001-01-02T00:00:00Z"}, headers=dash.bearer())

    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == 'attachment; filename="oratio-sessions-00010101-00010102.csv"'
    assert response.text.count("\r\n") == 1  # the header row only


@pytest.mark.parametrize("value", ["9999-12-31T23:59:59-10:00", "0001-01-01T00:30:00+01:00"])
def test_every_utc_timestamp_field_refuses_a_time_outside_the_calendar_as_invalid(value: str) -> None:
    """`UtcDatetime` (every stored or filtered time): a ValidationError the doors answer, not an OverflowError."""
    with pytest.raises(ValidationError, match="out of range"):
        SessionFilter.model_validate({"started_after": value})
