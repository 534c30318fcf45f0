"""The user-facing error types. The CLI turns any `JailgenError` into a message
and exit status 2 in one place; anything else escaping is a bug."""

from __future__ import annotations

from dataclasses import dataclass


class JailgenError(Exception):
    """An error caused by the user's input or environment, not by jailgen."""

    exit_code = 2


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input file, with where it is."""

    file: str
    line: int
    column: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{self.file}:{self.line}:{self.column}: {where}{self.message}"


class CatalogError(JailgenError):
    """Every problem found in a catalog, reported at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
