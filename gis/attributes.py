"""Parsing single attribute values: counts (population, households) and display text.

Counts are never guessed: a value that is not a finite, non-negative number is an error naming the
value; only a truly empty value (null, NaN from a numeric column, blank text) means "not known".
A count above ``MAX_COUNT`` is refused as implausible (a digitising slip, or a city total in a
ward row). Digits of any script are read as numbers: "१२३४" (Devanagari, as Hindi census tables
print them) is 1234, exactly like Python's ``float``.
"""

from __future__ import annotations

import math
import re
import unicodedata

#: Bidirectional embedding/override/isolate controls: they make a name display as something else.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: Digit grouping as written in Indian and international tables: "2,817,105" or "28,17,105".
_GROUPED = re.compile(r"^[+-]?\d{1,3}(,\d{2,3})+(\.\d+)?$")
_MAX_ECHO = 40
#: Largest population or household count accepted for one ward. Indian municipal wards hold tens
#: of thousands of people; ten million is a whole metropolis.
MAX_COUNT = 10_000_000


class ValueProblem(ValueError):
    """A value that cannot be used; the message says why in plain words."""


def echo(value: object) -> str:
    """A value as shown in a message: repr-escaped and truncated."""
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= _MAX_ECHO else text[: _MAX_ECHO - 1] + "…"


def parse_count(value: object) -> float:
    """A population/household count as float; NaN when empty. Raises ``ValueProblem``."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise ValueProblem(f"{echo(value)} is not a number")
    if isinstance(value, int | float):
        number = float(value)
        if math.isnan(number):
            return math.nan
    elif not str(value).strip():
        return math.nan
    else:
        number = _parse_text_number(str(value))
    if not math.isfinite(number):
        raise ValueProblem(f"{echo(value)} is not a finite number")
    if number < 0:
        raise ValueProblem(f"{echo(value)} is negative")
    if number > MAX_COUNT:
        raise ValueProblem(f"{echo(value)} is implausible for one ward (more than {MAX_COUNT:,})")
    return number


def _parse_text_number(text: str) -> float:
    stripped = text.strip()
    if _GROUPED.match(stripped):
        stripped = stripped.replace(",", "")
    try:
        return float(stripped)
    except ValueError:
        raise ValueProblem(f"{echo(text)} is not a number") from None


def clean_text(value: object) -> str | None:
    """Display text (ward name): stripped, exact code points kept; empty/null -> None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    text = str(value).strip()
    return text or None


def mojibake(text: str) -> str | None:
    """What ``text`` really says if it is UTF-8 that was decoded as Latin-1 or Windows-1252
    (Devanagari "हज" shows as "à¤¹à¤œ"), else ``None``. Real Latin-1 names ("Café") never decode
    as UTF-8 this way, so they are left alone."""
    if text.isascii():
        return None
    for codec in ("latin-1", "cp1252"):
        try:
            fixed = text.encode(codec).decode("utf-8")
        except UnicodeError:
            continue
        if fixed != text:
            return fixed
    return None


def text_problem(text: str) -> str | None:
    """Why ``text`` is refused (control or bidi-override characters), or ``None`` if it is fine.

    Zero-width joiners (U+200C/U+200D) are allowed: Devanagari spelling needs them.
    """
    for char in text:
        if char in _BIDI_CONTROLS:
            return f"contains the bidi control character U+{ord(char):04X}"
        if unicodedata.category(char) == "Cc":
            return f"contains the control character U+{ord(char):04X}"
    return None
