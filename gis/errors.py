"""Problems found in user files, reported so that a person can act on them."""

from __future__ import annotations

from dataclasses import dataclass


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
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


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
        lines = [self.title]
        for issue in self.issues[:limit]:
            lines.append(f"  - {issue}")
        if len(self.issues) > limit:
            lines.append(f"  … and {len(self.issues) - limit} more")
        return "\n".join(lines)
