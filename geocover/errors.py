"""Input problems, collected and reported all at once."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input.

    Parameters
    ----------
    file : str
        The file (or config key) the problem is in.
    message : str
        What is wrong.
    fix : str
        What the user should do about it.
    row : int or None
        1-based row (CSV/XLSX data row, vector feature) where known.
    column : str or None
        Column or config key where known.
    """

    file: str
    message: str
    fix: str = ""
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        text = f"{', '.join(where)}: {self.message}"
        return f"{text}. {self.fix}" if self.fix else text


class InputError(ValueError):
    """Raised when inputs are unusable; carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the input:\n{lines}")


def raise_if_any(problems: list[Problem]) -> None:
    """Raise :class:`InputError` when ``problems`` is not empty."""
    if problems:
        raise InputError(problems)
