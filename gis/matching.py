"""Matching the rows of a table to the wards of a layer, forgivingly and out loud.

Ward ids are compared in three steps, each reported:

1. exactly, after trimming and ignoring case ("ward12" = "WARD12");
2. as the same number written differently: ``08``, ``8``, ``8.0``, ``Ward 8``, ``W-08``,
   ``Ward No. 8``, ``वार्ड 8`` all mean ward 8 (leading zeros, a decimal ``.0`` and a "ward" prefix
   are dropped). A number written twice on one side (``8`` and ``08`` as two wards) is never
   guessed at: both stay unmatched and are listed as a likely pair;
3. nothing else: ids that are not numbers never match approximately.

Ward names (a table with names and no numbers) are compared after Unicode normalisation (NFC),
case folding, dropping punctuation and spaces ("Hazrat Ganj" = "Hazratganj"), and for Devanagari
also without nukta and zero-width joiners ("हज़रतगंज" = "हजरतगंज"); then, only where exactly one
name on each side is a close spelling of the other (similarity ≥ ``NAME_CUTOFF``), as a reported approximate pair.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gis.fields import id_key

#: Similarity (difflib ratio) from which two ward names may be paired approximately.
NAME_CUTOFF = 0.85
_NUMBER = re.compile(
    r"^(?:(?:ward|w|वार्ड|वार्ड)\s*(?:no|num|number|nr|सं|संख्या)?\s*[.#:_\-/]*\s*)?"
    r"(\d+)(?:\.0+)?$",
    re.IGNORECASE,
)
_PUNCT = re.compile(r"[\W_]+", re.UNICODE)
_DEVANAGARI_MARKS = dict.fromkeys(map(ord, "\u093c\u200c\u200d"))
_SHOWN = 10


def number_key(text: str) -> int | None:
    """The ward number ``text`` writes (``"W-08"`` -> 8), or ``None`` when it is not one."""
    match = _NUMBER.match(unicodedata.normalize("NFKC", text).strip())
    return int(match.group(1)) if match else None


def how_written(text: str) -> str:
    """What was dropped to read ``text`` as a number: "leading zeros", "a 'Ward' prefix"…"""
    stripped = unicodedata.normalize("NFKC", text).strip()
    kinds = []
    match = re.search(r"\d+(?:\.0+)?$", stripped)
    prefix = stripped[: match.start()] if match else ""
    digits = match.group(0) if match else stripped
    if prefix:
        kinds.append(f"the prefix {prefix.strip()!r}")
    if len(digits) > 1 and digits.startswith("0"):
        kinds.append("leading zeros")
    if "." in digits:
        kinds.append("a decimal '.0'")
    return " and ".join(kinds) or "another spelling"


def name_key(text: str) -> str:
    """A ward name reduced for comparison: spaces and punctuation dropped (see the module doc)."""
    text = unicodedata.normalize("NFC", text).translate(_DEVANAGARI_MARKS).casefold()
    return "".join(_PUNCT.sub(" ", text).split())


@dataclass
class Matching:
    """Which row goes to which ward, and what was not exact about it.

    ``pairs`` maps a row position to a ward position. ``inexact`` lists every pairing that was not
    exact, as "ward '01' = row '1' (leading zeros)". ``likely`` lists likely but unused pairs of an
    unmatched ward and an unmatched row.
    """

    pairs: dict[int, int] = field(default_factory=dict)
    inexact: list[str] = field(default_factory=list)
    likely: list[str] = field(default_factory=list)

    def unmatched_rows(self, n_rows: int) -> list[int]:
        return [r for r in range(n_rows) if r not in self.pairs]

    def unmatched_wards(self, n_wards: int) -> list[int]:
        used = set(self.pairs.values())
        return [w for w in range(n_wards) if w not in used]


def match_ids(wards: Sequence[str], rows: Sequence[str]) -> Matching:
    """Pair table ids ``rows`` with layer ids ``wards`` (see the module doc, steps 1–3)."""
    result = Matching()
    _pair_by(result, wards, rows, id_key, lambda w, r: "")
    _pair_by(
        result,
        wards,
        rows,
        lambda text: _str_or_none(number_key(text)),
        lambda w, r: f"same number, written with {_differences(w, r)}",
    )
    _likely_numbers(result, wards, rows)
    return result


def match_names(wards: Sequence[str | None], rows: Sequence[str]) -> Matching:
    """Pair table names ``rows`` with layer names ``wards`` (exact, normalised, then close)."""
    result = Matching()
    _pair_by(result, wards, rows, lambda t: t, lambda w, r: "")
    _pair_by(result, wards, rows, name_key, lambda w, r: "same name after normalising spelling")
    _pair_close_names(result, wards, rows)
    return result


def _str_or_none(value: int | None) -> str | None:
    return None if value is None else str(value)


def _differences(ward: str, row: str) -> str:
    parts = []
    for side, text in (("the layer", ward), ("the table", row)):
        if text.strip() != str(number_key(text)):
            parts.append(f"{how_written(text)} in {side}")
    return "; ".join(parts) or "another spelling"


def _pair_by(
    result: Matching,
    wards: Sequence[str | None],
    rows: Sequence[str],
    key: Callable[[str], str | None],
    why: Callable[[str, str], str],
) -> None:
    """Pair the still unmatched wards and rows whose key is equal and unique on both sides."""
    ward_keys = _unique_keys(
        {w: wards[w] for w in result.unmatched_wards(len(wards)) if wards[w]}, key
    )
    row_keys = _unique_keys({r: rows[r] for r in result.unmatched_rows(len(rows))}, key)
    for k, r in row_keys.items():
        w = ward_keys.get(k)
        if w is None:
            continue
        result.pairs[r] = w
        reason = why(str(wards[w]), rows[r])
        if reason:
            result.inexact.append(f"ward {wards[w]!r} = table {rows[r]!r} ({reason})")


def _unique_keys(items: dict[int, str | None], key: Callable[[str], str | None]) -> dict[str, int]:
    """key -> position, for the keys that occur once only."""
    seen: dict[str, list[int]] = {}
    for position, text in items.items():
        k = key(text) if text else None
        if k is not None:
            seen.setdefault(k, []).append(position)
    return {k: positions[0] for k, positions in seen.items() if len(positions) == 1}


def _likely_numbers(result: Matching, wards: Sequence[str], rows: Sequence[str]) -> None:
    """Unmatched wards and rows that write the same number (but not uniquely on one side)."""
    by_number: dict[int, list[str]] = {}
    for r in result.unmatched_rows(len(rows)):
        number = number_key(rows[r])
        if number is not None:
            by_number.setdefault(number, []).append(rows[r])
    for w in result.unmatched_wards(len(wards)):
        number = number_key(wards[w])
        if number is not None and number in by_number:
            shown = ", ".join(repr(r) for r in by_number[number])
            result.likely.append(
                f"ward {wards[w]!r} ↔ table {shown} (same number {number}, not unique on one side)"
            )


def _pair_close_names(result: Matching, wards: Sequence[str | None], rows: Sequence[str]) -> None:
    """Pair names that are each other's only close spelling; list the other close ones."""
    free_wards = {
        w: name_key(str(wards[w])) for w in result.unmatched_wards(len(wards)) if wards[w]
    }
    free_rows = {r: name_key(rows[r]) for r in result.unmatched_rows(len(rows))}
    for r, row_name in list(free_rows.items()):
        close = [w for w, name in free_wards.items() if _similar(name, row_name)]
        back = [
            q for q, name in free_rows.items() if close and _similar(free_wards[close[0]], name)
        ]
        if len(close) == 1 and back == [r]:
            w = close[0]
            score = difflib.SequenceMatcher(None, free_wards[w], row_name).ratio()
            result.pairs[r] = w
            result.inexact.append(
                f"ward {wards[w]!r} = table {rows[r]!r} (approximate: {score:.0%} similar)"
            )
            del free_wards[w]
        elif close:
            shown = ", ".join(repr(wards[w]) for w in close)
            result.likely.append(f"table {rows[r]!r} ↔ ward(s) {shown} (similar names)")


def _similar(a: str, b: str) -> bool:
    return difflib.SequenceMatcher(None, a, b).ratio() >= NAME_CUTOFF


def side_by_side(
    wards: Sequence[str], rows: Sequence[str], likely: Sequence[str], limit: int = _SHOWN
) -> list[str]:
    """Lines listing unmatched wards and rows in two columns, then the likeliest pairs."""
    lines = [f"{'wards without a row':<28} table rows without a ward"]
    for i in range(min(max(len(wards), len(rows)), limit)):
        left = wards[i] if i < len(wards) else ""
        right = rows[i] if i < len(rows) else ""
        lines.append(f"{left:<28} {right}")
    hidden = max(len(wards), len(rows)) - limit
    if hidden > 0:
        lines.append(f"… and {hidden} more line(s)")
    lines.extend(f"likely pair: {pair}" for pair in likely[:limit])
    return lines
