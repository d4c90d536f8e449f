"""Run a command with a folder read-only to it, as a compute node's home or a read-only file system is.

Root writes through file permissions (chmod 0555 stops nobody here), so the
folder is bind-mounted read-only in a mount namespace of the command's own
(`unshare --mount`): nothing outside sees the mount, and it is gone when the
command ends. Needs root, or a system that lets users make mount namespaces.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import tempfile

import pytest

_READ_ONLY = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'


def read_only(folder: os.PathLike, command: list[str]) -> list[str]:
    """`command`, run with `folder` (which must exist) mounted read-only for it and its children."""
    return ["unshare", "--mount", "sh", "-c", _READ_ONLY, str(folder), *map(str, command)]


@functools.cache
def _works() -> bool:
    if shutil.which("unshare") is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        probe = subprocess.run(read_only(folder, ["touch", f"{folder}/probe"]), capture_output=True, text=True)
        return probe.returncode != 0 and "Read-only file system" in probe.stderr


def needs_read_only_mounts() -> None:
    """Skip the calling test where no read-only bind mount can be made (not root, no mount namespaces)."""
    if not _works():
        pytest.skip("a read-only bind mount needs root or user namespaces (unshare --mount)")
