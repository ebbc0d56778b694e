"""Typed user errors. The CLI prints them as one line; pages show them with st.error."""
from __future__ import annotations

from os import PathLike


class NearmissError(Exception):
    """Base class for errors caused by user input or configuration, not by bugs."""


class LoadError(NearmissError):
    """Bad input data: names the file, the line (or row), the field and the reason."""

    def __init__(self, file: str | PathLike[str], line: int | None, field: str | None, reason: str):
        self.file, self.line, self.field, self.reason = str(file), line, field, reason
        where = self.file if line is None else f"{self.file}:{line}"
        what = "" if not field else f"field '{field}': " if _plain(field) else f"field {shown(field, 80)}: "
        super().__init__(f"{where}: {what}{reason}")


class ConfigError(NearmissError):
    """A bad option or combination of options."""


class NotFoundError(NearmissError):
    """Something the user named does not exist (dataset, annotator, model, ...)."""


class PermissionDenied(NearmissError):
    """The signed-in annotator's role does not allow this action."""


class SignInRefused(NearmissError):
    """A sign-in attempt refused: wrong name or password, a disabled account, or throttled."""


class StoreBusy(NearmissError):
    """The store refused a write because another writer holds it (locked, conflicting or
    serialization failure); nothing of this transaction was kept."""


class RunStopped(NearmissError):
    """The run was cancelled (or ended elsewhere) while this process worked on it; the process
    stops at its next progress report."""


class DatasetBusy(StoreBusy):
    """Another live run is mining the dataset; this one is refused before it writes anything."""


def _plain(name: str) -> bool:
    """Whether a field name can be shown as it is, on one line."""
    return name.isprintable() and len(name) <= 80


def shown(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for naming a user's value in a message."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class LoadErrors(LoadError):
    """Several bad rows of one file: the first ``errors`` (each a LoadError) and how many more.
    As a message it is the first error and the count of the others."""

    def __init__(self, errors: list[LoadError], more: int = 0):
        first, others = errors[0], len(errors) - 1 + more
        super().__init__(first.file, first.line, first.field, first.reason + (f" (and {others} more)" if others else ""))
        self.errors, self.more = errors, more
