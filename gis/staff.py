"""A city's City Mission Managers (CMMs): read from a CSV (or rows sent as JSON), checked, and
turned into the allocation order's portfolio table.

Columns: ``cmm_id``, ``name``, ``phone``, ``email`` and ``components``. ``components`` (optional)
lists the CMM's components as numbers 1–7 in the letter's order (``gis.portfolios.COMPONENTS``),
separated by ``;`` or spaces. When no CMM lists any, the portfolios follow the letter's rule by the
number of CMMs; when some do, the listed components are the portfolios (a component may be given
to one CMM only; a CMM without any is "as the CMMU assigns").
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from gis.errors import InputError, Issue
from gis.portfolios import COMPONENTS, default_portfolios
from gis.text import client_text_problem

CSV_COLUMNS = ("cmm_id", "name", "phone", "email", "components")
MAX_TEXT = 200
_PHONE = re.compile(r"^\+?[0-9][0-9 ()-]{5,22}[0-9]$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SEPARATORS = re.compile(r"[;\s]+")
#: How a row's problem is told: code, message, field, value.
Bad = Callable[[str, str, str, str], None]


@dataclass(frozen=True)
class Cmm:
    """One CMM: ``components`` are positions in ``COMPONENTS`` (``None``: by the letter's rule)."""

    cmm_id: str
    name: str
    phone: str | None = None
    email: str | None = None
    components: tuple[int, ...] | None = None

    @property
    def contact(self) -> str:
        return ", ".join(c for c in (self.phone, self.email) if c) or "—"


def read_cmms_csv(name: str, data: bytes) -> list[Cmm]:
    """The CMMs of a CSV file's bytes (``name`` names the file in problems); every problem is
    raised at once as ``InputError``, naming the line, field and value."""
    try:
        text = data.decode("utf-8-sig")
        records = list(csv.reader(io.StringIO(text, newline="")))
    except UnicodeDecodeError as exc:
        problem = f"not UTF-8 text ({exc.reason} at byte {exc.start}); save it as 'CSV UTF-8'"
        raise InputError(
            f"{name}: cannot read CMMs", [Issue("not-utf8", problem, file=name)], code="invalid-csv"
        ) from None
    except csv.Error as exc:
        issue = Issue("bad-csv", f"is not a well-formed CSV: {exc}", file=name)
        raise InputError(f"{name}: cannot read CMMs", [issue], code="invalid-csv") from None
    if not records:
        raise InputError(
            f"{name}: cannot read CMMs",
            [Issue("empty-file", "the file is empty", file=name)],
            code="invalid-csv",
        )
    header = [h.strip().lower() for h in records[0]]
    missing = [c for c in ("cmm_id", "name") if c not in header]
    if missing:
        issue = Issue(
            "missing-columns",
            f"missing column(s): {', '.join(missing)}; the columns found are "
            + (", ".join(repr(h) for h in header) or "none"),
            file=name,
        )
        raise InputError(f"{name}: cannot read CMMs", [issue], code="invalid-csv")
    rows: list[tuple[str, Mapping[str, str]]] = []
    for line, record in enumerate(records[1:], start=2):
        if any(cell.strip() for cell in record):
            padded = [*record, *[""] * (len(header) - len(record))]
            rows.append((f"line {line}", dict(zip(header, padded, strict=False))))
    return check_cmms(rows, file=name)


def check_cmms(
    rows: Sequence[tuple[str, Mapping[str, str]]], *, file: str | None = None
) -> list[Cmm]:
    """The CMMs of ``rows`` (where each row is, e.g. "line 3" or "item 1"; its values by column),
    all checked: non-blank unique ids and names, phone and e-mail shapes, components 1–7 given
    to one CMM each. Raises ``InputError`` with every problem."""
    issues: list[Issue] = []
    found: list[Cmm] = []
    seen: dict[str, str] = {}
    holder: dict[int, str] = {}
    for where, values in rows:
        problems = len(issues)

        def bad(code: str, message: str, field: str, value: str, where: str = where) -> None:
            issues.append(Issue(code, f"{where}: {message}", file=file, field=field, value=value))

        cells = {c: (values.get(c) or "").strip() for c in CSV_COLUMNS}
        for column, value in cells.items():
            if column in ("phone", "email"):
                continue  # checked with their shapes by check_contact
            if problem := client_text_problem(value):
                bad("bad-text", f"{column} {problem}", column, value)
            elif len(value) > MAX_TEXT:
                bad("too-long", f"{column} is longer than {MAX_TEXT} characters", column, value)
        cmm_id, name = cells["cmm_id"], cells["name"]
        for column in ("cmm_id", "name"):
            if not cells[column]:
                bad("missing-value", f"{column} is empty", column, values.get(column) or "")
        if cmm_id and cmm_id in seen:
            bad("duplicate-cmm", f"cmm_id {cmm_id!r} is also on {seen[cmm_id]}", "cmm_id", cmm_id)
        seen.setdefault(cmm_id, where)
        check_contact(cells["phone"], cells["email"], bad)
        components = _components(cells["components"], where, bad, holder)
        if len(issues) == problems:
            phone, email = cells["phone"] or None, cells["email"] or None
            found.append(Cmm(cmm_id, name, phone, email, components))
    if not rows:
        issues.append(Issue("no-cmms", "no CMM is listed", file=file))
    if issues:
        raise InputError(
            f"{file or 'the list'}: CMMs refused",
            issues,
            code="invalid-cmms",
        )
    return found


def check_contact(phone: str, email: str, bad: Bad) -> None:
    """Tell ``bad`` of a ``phone`` or ``email`` (stripped; blank: not given) that is too long, holds
    text an upload refuses, or is not shaped like a telephone number or an e-mail address. Used
    for CMMs and for the COs of a roster."""
    for column, value in (("phone", phone), ("email", email)):
        if problem := client_text_problem(value):
            bad("bad-text", f"{column} {problem}", column, value)
        elif len(value) > MAX_TEXT:
            bad("too-long", f"{column} is longer than {MAX_TEXT} characters", column, value)
        elif value and not (_PHONE if column == "phone" else _EMAIL).match(value):
            what = "a telephone number" if column == "phone" else "an e-mail address"
            bad(f"bad-{column}", f"{column} {value!r} is not {what}", column, value)


def _components(text: str, where: str, bad: Bad, holder: dict[int, str]) -> tuple[int, ...] | None:
    if not text:
        return None
    out: list[int] = []
    for part in _SEPARATORS.split(text):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= len(COMPONENTS):
            bad("bad-component", f"component {part!r} is not a number 1–7", "components", text)
            continue
        k = int(part) - 1
        if k in holder:
            bad(
                "component-twice",
                f"component {part} is also given on {holder[k]}",
                "components",
                text,
            )
            continue
        holder[k] = where
        out.append(k)
    return tuple(out)


def portfolios(cmms: Sequence[Cmm]) -> list[tuple[int, ...]]:
    """Each CMM's components: as listed when any CMM lists some, else the letter's rule."""
    if any(c.components is not None for c in cmms):
        return [c.components or () for c in cmms]
    return default_portfolios(len(cmms))


def people(cmms: Sequence[Cmm]) -> list[str]:
    """Each CMM as the order prints them: "name (id)" and the contact."""
    return [f"{c.name} ({c.cmm_id})\n{c.contact}" for c in cmms]
