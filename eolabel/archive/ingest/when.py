"""Acquisition time from STAC, TIFF tags or the file name (in that order)."""

import re
from datetime import UTC, datetime

from django.utils.dateparse import parse_datetime

TAG_KEYS = ("ACQUISITION_DATETIME", "ACQUISITION_DATE", "DATETIME", "TIFFTAG_DATETIME", "SENSING_TIME")
NAME_DATE = re.compile(
    r"(?<!\d)(19[7-9]\d|20\d\d)(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?:T(\d{2})(\d{2})(\d{2}))?(?!\d)"
)


def parse_when(text: str) -> datetime | None:
    text = text.strip()
    tiff = re.fullmatch(r"(\d{4}):(\d{2}):(\d{2}) (\d{2}):(\d{2}):(\d{2})", text)
    if tiff:
        return datetime(*map(int, tiff.groups()), tzinfo=UTC)
    parsed = parse_datetime(text.replace("Z", "+00:00"))
    if parsed is None:
        day = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
        if day:
            return datetime(*map(int, day.groups()), tzinfo=UTC)
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def acquired_from_tags(tags: dict[str, str]) -> datetime | None:
    upper = {k.upper(): v for k, v in tags.items()}
    for key in TAG_KEYS:
        if key in upper:
            when = parse_when(upper[key])
            if when:
                return when
    return None


def acquired_from_name(name: str) -> datetime | None:
    found = NAME_DATE.search(name)
    if not found:
        return None
    year, month, day, hh, mm, ss = found.groups()
    try:
        return datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), tzinfo=UTC)
    except ValueError:
        return None
