"""User-facing exceptions: each carries one sentence that says what went wrong and what to do."""

from __future__ import annotations


class UserError(Exception):
    """An error the user can cause and fix; shown as a message (UI) or one line with exit code 2 (CLI)."""


class ConfigError(UserError):
    """An invalid or inconsistent configuration value."""


class DataError(UserError):
    """A data set that cannot be found, downloaded or read."""


class CheckpointError(UserError):
    """A checkpoint that is missing, corrupt, unsafe or does not match the model."""


class TrainingError(UserError):
    """Training stopped because it cannot go on (non-finite values, out of memory, disk full)."""
