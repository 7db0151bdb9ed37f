"""The errors automl raises for users: each message names the file or key,
the value received and what was expected, and is shown as one line by the
CLI (the traceback only with `--debug`).
"""

from __future__ import annotations


class AutomlError(Exception):
    """Base of the errors a user can fix; `exit_code` is what the CLI returns."""

    exit_code = 1


class ConfigError(AutomlError, ValueError):
    """A pipeline config (or command-line option) that cannot be used."""

    exit_code = 2


class DataError(AutomlError, ValueError):
    """Data that cannot be used, with the file and what was wrong."""


class SearchError(AutomlError, RuntimeError):
    """The search produced no usable trial."""


class ExportError(AutomlError, RuntimeError):
    """A model that cannot be exported as asked."""


class PipelineFailed(AutomlError, RuntimeError):
    """The run finished its stages but failed a check (the report says which)."""


class RunDirectoryBusy(AutomlError, RuntimeError):
    """Another automl command holds the run directory's lock."""


class DiskFull(AutomlError, OSError):
    """Not enough room on the run directory's disk for what comes next."""
