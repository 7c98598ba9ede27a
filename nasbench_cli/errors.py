"""User-facing errors: each carries a one-line message and the exit code the CLI returns."""

from __future__ import annotations

from typing import Iterable


class NasbenchError(Exception):
    """An error caused by input or environment, reported to the user without a traceback."""

    exit_code = 1


class UsageError(NasbenchError):
    """Bad command-line input (unknown name, malformed value)."""

    exit_code = 2


class UnknownNameError(UsageError):
    """A name that is not in a registry; the message lists the valid names."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} '{name}'; valid {kind} names: {', '.join(self.valid)}")


class InvalidArchError(UsageError):
    """An architecture string or index that does not describe a member of the space."""


class DataMissingError(NasbenchError):
    """A data file or folder the command needs is absent; the message names the expected path."""


class DataDirMissingError(DataMissingError):
    """The data directory itself (--data-dir, $NASBENCH_DATA or ``data_dir=``) does not exist or
    is not a directory: the message names it, where it came from and how to fill it."""


class DataCorruptError(NasbenchError):
    """A file exists but cannot be read as the expected format; the message names the file."""


class EnvironmentFailure(NasbenchError):
    """The machine, not the proxy, failed (memory, threads, a device, a missing module): the run
    stops and nothing is stored for the architecture, so a later run computes it again."""


class PluginError(UsageError):
    """A plugin (a proxy from a file, a package or the caller's script) that cannot be used: the
    message names the plugin and what is wrong with it, in one line."""


class ProxyCodeError(NasbenchError):
    """A proxy broke its contract (returned something other than a number) or its code raised an
    error that is not a failure on the network (a TypeError, a NameError): the run stops in one
    line naming the proxy, and nothing is stored for it."""
