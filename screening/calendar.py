"""Working days for service levels: Monday to Friday, less the public holidays in the admin."""

from __future__ import annotations

from datetime import datetime, timedelta

from policy.selectors import holidays_between


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment `days` working days after `start` (same time of day)."""
    # Generous window for the holiday lookup: a year of holidays would not need more.
    holidays = holidays_between(start.date(), (start + timedelta(days=days * 2 + 60)).date())
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5 and current.date() not in holidays:
            left -= 1
    return current
