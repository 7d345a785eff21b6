"""When a subscription's waiting alerts go out: pure functions of its settings and the clock.

- immediate: at once, but at most one message a minute: alerts that come within a minute of the
  last message wait for the minute to end and go together (a surge of a thousand matching
  reports is one message a minute, not a thousand);
- hourly: at the first full hour after the oldest waiting alert;
- daily: at DIGEST_HOUR (the subscriber's time) after the oldest waiting alert;
- quiet hours (e.g. 22:00-07:00 in the subscriber's time zone) move what falls inside them to
  their end.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

COLLAPSE = timedelta(minutes=1)
DIGEST_HOUR = time(7, 0)


def parse_clock(value: str) -> time | None:
    """ "22:00" -> time(22, 0); None when it is not HH:MM."""
    try:
        hours, minutes = value.split(":")
        if len(hours) not in (1, 2) or len(minutes) != 2:
            return None
        return time(int(hours), int(minutes))
    except ValueError:
        return None


def known_timezone(name: str) -> bool:
    """An IANA time zone name ("America/Port-au-Prince", "UTC")."""
    if not name or len(name) > 60:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _in_quiet_hours(local: time, start: time, end: time) -> bool:
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end  # across midnight


def after_quiet_hours(moment: datetime, start: time | None, end: time | None, zone: str) -> datetime:
    """`moment`, or the end of the quiet hours it falls in."""
    if start is None or end is None:
        return moment
    tz = ZoneInfo(zone)
    local = moment.astimezone(tz)
    if not _in_quiet_hours(local.time(), start, end):
        return moment
    ends = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if ends <= local:
        ends += timedelta(days=1)
    return ends.astimezone(moment.tzinfo)


def due_at(
    frequency: str,
    oldest_waiting: datetime,
    last_sent: datetime | None,
    quiet_start: time | None = None,
    quiet_end: time | None = None,
    zone: str = "UTC",
) -> datetime:
    """When the alerts waiting since `oldest_waiting` go out."""
    if frequency == "hourly":
        due = oldest_waiting.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    elif frequency == "daily":
        tz = ZoneInfo(zone)
        local = oldest_waiting.astimezone(tz)
        due_local = local.replace(hour=DIGEST_HOUR.hour, minute=DIGEST_HOUR.minute, second=0, microsecond=0)
        if due_local <= local:
            due_local += timedelta(days=1)
        due = due_local.astimezone(oldest_waiting.tzinfo)
    else:
        due = oldest_waiting
        if last_sent is not None and last_sent + COLLAPSE > due:
            due = last_sent + COLLAPSE
    return after_quiet_hours(due, quiet_start, quiet_end, zone)
