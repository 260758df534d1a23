"""Quiet hours: when a text may reach a customer, in the customer's local time.

The customer's time zones come from the number: phonenumbers' time zone data
names the zones of its prefix (one for most numbers, the zones of a region for
geographic numbers of countries that span several). Where the data knows none,
the zones of the number's country are taken. A number with several zones is
quiet while it is quiet in any of them: a text waits until every zone is out of
its quiet hours, or, where no time suits them all, until the first one is.
"""

import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import pytz
from phonenumbers import timezone as phone_timezone

UTC = datetime.UTC
UNKNOWN_ZONE = "Etc/Unknown"


def time_zone(name):
    """The ``ZoneInfo`` of an IANA name, None when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def recipient_time_zones(e164):
    """The time zones of an E.164 number, as ``ZoneInfo`` objects: [] when unknown."""
    try:
        parsed = phonenumbers.parse(e164 or "")
    except phonenumbers.NumberParseException:
        return []
    names = [name for name in phone_timezone.time_zones_for_number(parsed) if name != UNKNOWN_ZONE]
    if not names:
        region = phonenumbers.region_code_for_country_code(parsed.country_code)
        names = pytz.country_timezones.get(region, []) if region else []
    return [zone for zone in map(time_zone, names) if zone]


def hour_of(local):
    """Local time of a datetime as hours (22.5 for 22:30)."""
    return local.hour + local.minute / 60 + local.second / 3600


def is_quiet(local, start, end):
    """Whether the local datetime ``local`` falls in the quiet hours from
    ``start`` to ``end`` (hours, 21.0 to 8.0 spans midnight)."""
    if start == end:
        return False
    hour = hour_of(local)
    if start < end:
        return start <= hour < end
    return hour >= start or hour < end


def _quiet_end(moment, zone, start, end):
    """The UTC instant at which the quiet hours holding ``moment`` end in ``zone``."""
    local = moment.astimezone(zone)
    day = local.date()
    if start > end and hour_of(local) >= start:
        day += datetime.timedelta(days=1)
    hours, minutes = divmod(round(end * 60), 60)
    # A local time skipped by a daylight-saving change is read with the offset before the
    # change: an hour after it, never before.
    return datetime.datetime.combine(day, datetime.time(hours % 24, minutes), tzinfo=zone).astimezone(UTC)


def next_allowed_time(moment, zones, start, end):
    """The first instant from ``moment`` (aware) out of the quiet hours in every
    zone of ``zones``: ``moment`` itself when it is not quiet anywhere."""
    candidate = moment
    for _attempt in range(2 * len(zones) + 2):
        quiet = [zone for zone in zones if is_quiet(candidate.astimezone(zone), start, end)]
        if not quiet:
            return candidate
        candidate = max(_quiet_end(candidate, zone, start, end) for zone in quiet)
    # The zones are too far apart for one common time: the first of them to wake up.
    return min(
        _quiet_end(moment, zone, start, end) if is_quiet(moment.astimezone(zone), start, end) else moment
        for zone in zones
    )


def format_hour(hours):
    """21.5 -> '21:30'."""
    hours, minutes = divmod(round(hours * 60), 60)
    return f"{hours % 24:02d}:{minutes:02d}"
