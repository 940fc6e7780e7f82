"""User-facing exceptions: each carries one sentence that says what went wrong and what to do."""

from __future__ import annotations

import errno


class UserError(Exception):
    """An error the user can cause and fix; shown as a message (UI) or one line with exit code 2 (CLI)."""

    def __init__(self, message: str = "", *, cli: str | None = None) -> None:
        super().__init__(message)
        # The command line's wording where it differs: it names flags (--data-dir) where the app names its pages.
        self.cli = cli

    def for_cli(self) -> str:
        """The sentence the CLI prints after 'error: '."""
        return self.cli or str(self)


class ConfigError(UserError):
    """An invalid or inconsistent configuration value."""


class DataError(UserError):
    """A data set that cannot be found, downloaded or read."""


class CheckpointError(UserError):
    """A checkpoint that is missing, corrupt, unsafe or does not match the model."""


class TrainingError(UserError):
    """Training stopped because it cannot go on (non-finite values, out of memory, disk full)."""


def disk_error(e: BaseException) -> UserError | None:
    """The user-facing form of a full or read-only disk hit anywhere (a grid, meta.json, cached statistics),
    else None."""
    if not isinstance(e, OSError) or e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EROFS):
        return None
    what = "is read-only" if e.errno == errno.EROFS else "is full"
    where = f" while writing {e.filename}" if e.filename else ""
    return TrainingError(f"The disk {what}{where}: free some space (or choose another checkpoints folder), then resume "
                         "the run from its last checkpoint; earlier checkpoints are untouched.")


# What a file error's errno means to a person.
_FILE_PROBLEMS = {
    errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up", errno.EROFS: "the disk is read-only",
    errno.EACCES: "permission is denied", errno.EPERM: "permission is denied",
    errno.ENOENT: "it does not exist", errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder", errno.EEXIST: "a file of that name is in the way",
    errno.ENAMETOOLONG: "the name is too long",
}


def file_problem(e: OSError) -> str:
    """What went wrong with a file, in plain words ("the disk is full"), never the raw exception text."""
    return _FILE_PROBLEMS.get(e.errno) or (e.strerror or "the system refused it").lower()


def file_error(e: OSError) -> UserError:
    """One sentence for any file error (a full or read-only disk, a folder that cannot be created, a missing
    permission), naming the path and what to do."""
    disk = disk_error(e)
    if disk is not None:
        return disk
    where = f" {e.filename}" if e.filename else ""
    return UserError(f"Could not use{where}: {file_problem(e)}. Choose another path (or fix its permissions) and try "
                     "again.")
