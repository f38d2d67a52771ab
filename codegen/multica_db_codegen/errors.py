"""Errors a user can act on: where (file:line:col), which query, and what.

Every stage raises :class:`GenerateError`; the CLI prints them all and exits 1.
The excerpt with a caret makes the message useful in a terminal and in CI logs
without opening the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A query or schema file's text with a fast offset → line/column map."""

    path: str
    text: str

    @classmethod
    def read(cls, path: Path | str) -> SourceFile:
        return cls(str(path), Path(path).read_text(encoding="utf-8"))

    def line_col(self, offset: int) -> tuple[int, int]:
        """1-based line and column of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = self.text.count("\n", 0, offset) + 1
        start = self.text.rfind("\n", 0, offset) + 1
        return line, offset - start + 1

    def excerpt(self, offset: int) -> str:
        """The line holding ``offset`` and a caret under it."""
        offset = max(0, min(offset, len(self.text)))
        start = self.text.rfind("\n", 0, offset) + 1
        end = self.text.find("\n", offset)
        line = self.text[start : end if end != -1 else len(self.text)]
        return f"    {line}\n    {' ' * (offset - start)}^"


@dataclass(frozen=True, slots=True)
class Location:
    file: SourceFile
    offset: int

    def __str__(self) -> str:
        line, col = self.file.line_col(self.offset)
        return f"{self.file.path}:{line}:{col}"


class GenerateError(Exception):
    """One user-facing error, located in a source file when possible."""

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        query: str | None = None,
        hint: str | None = None,
        where: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.location = location
        self.query = query
        self.hint = hint
        self.where = where  # "file:line" when there is no location to show an excerpt of

    def __str__(self) -> str:
        at = self.location or self.where
        head = f"{at}: " if at else ""
        name = f"query {self.query}: " if self.query else ""
        text = f"{head}{name}{self.message}"
        if self.hint:
            text += f"\nHINT: {self.hint}"
        if self.location is not None:
            text += "\n" + self.location.file.excerpt(self.location.offset)
        return text


class GenerateErrors(Exception):
    """Several errors found in one run: reported together, so one fix-run cycle fixes many."""

    def __init__(self, errors: list[GenerateError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors
