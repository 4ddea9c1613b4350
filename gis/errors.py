"""Problems found in user files, reported so that a person can act on them.

Every message that reaches a person (the command line's error text, every problem+json field)
passes through :func:`shown`: user text inside it can neither carry markup nor flood the screen.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

#: Characters shown as ``\uXXXX``: C0/C1 controls (but tab and newline), bidi controls and
#: surrogates.
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
#: Characters of one shown field at most (a message; values and names are cut shorter).
MAX_SHOWN = 1000


def shown(value: object, limit: int = MAX_SHOWN) -> str:
    """The one way user text is echoed to a person: control, bidi and surrogate code points
    written as ``\\uXXXX``, markup escaped (``<`` → ``&lt;``, ``>``, ``&``), at most ``limit``
    characters. Applied once, where the text leaves (the CLI's error, a problem+json field)."""
    text = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", cut(value, limit))
    return cut(html.escape(text, quote=False), limit)


def cut(value: object, limit: int) -> str:
    """``value`` as text of at most ``limit`` characters, cut with "…" and its full length."""
    text = str(value)
    if len(text) <= limit:
        return text
    tail = f"… ({len(text):,} characters)"
    return text[: max(limit - len(tail), 1)] + tail


@dataclass(frozen=True)
class Issue:
    """One problem in an input file.

    ``feature`` is the 0-based index of the feature in the file (``None`` for whole-file problems);
    ``field``/``value`` name the attribute and the offending value where there is one.
    """

    code: str
    message: str
    file: str | None = None
    feature: int | None = None
    ward_id: str | None = None
    field: str | None = None
    value: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.feature is not None:
            where.append(f"feature {self.feature}")
        if self.ward_id is not None:
            where.append(f"ward {self.ward_id}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        prefix = cut(", ".join(where), 400)
        message = cut(self.message, MAX_SHOWN)
        return f"{prefix}: {message}" if prefix else message


class InputError(Exception):
    """An input was refused. Carries every problem found, not just the first."""

    def __init__(
        self, title: str, issues: list[Issue] | None = None, *, code: str = "invalid-input"
    ):
        self.title = title
        self.code = code
        self.issues: list[Issue] = list(issues or [])
        super().__init__(self.render())

    def render(self, limit: int = 20) -> str:
        lines = [cut(self.title, MAX_SHOWN)]
        for issue in self.issues[:limit]:
            lines.append(f"  - {issue}")
        if len(self.issues) > limit:
            lines.append(f"  … and {len(self.issues) - limit} more")
        return "\n".join(lines)
