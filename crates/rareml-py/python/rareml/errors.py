"""The exceptions rareml raises.

Every error is a :class:`RaremlError`; each kind also derives from the built-in exception a Python
user would catch for it, so ``except FileNotFoundError`` or ``except ValueError`` work as usual.
The message names the file, the path inside it and what was expected.
"""

__all__ = [
    "RaremlError",
    "MissingFileError",
    "FileFormatError",
    "InvalidArgumentError",
    "RaremlIndexError",
    "RaremlOSError",
    "InternalError",
]


class RaremlError(Exception):
    """Base class of every error raised by rareml."""


class MissingFileError(RaremlError, FileNotFoundError):
    """The file does not exist."""


class FileFormatError(RaremlError, ValueError):
    """The file exists but does not hold what was expected: not HDF5, a missing data set, a wrong
    dtype or shape, invalid values (NaN pixels, unknown labels, ...)."""


class InvalidArgumentError(RaremlError, ValueError):
    """An argument is wrong: its shape, dtype, value or a parameter out of its range."""


class RaremlIndexError(RaremlError, IndexError):
    """An index or a row range beyond the data."""


class RaremlOSError(RaremlError, OSError):
    """Reading or writing failed at the system or HDF5-library level (permissions, a FIFO or a
    directory given as a file, a damaged HDF5 object)."""


class InternalError(RaremlError, RuntimeError):
    """A bug in rareml (a Rust panic caught at the boundary); please report it."""
