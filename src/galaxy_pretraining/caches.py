"""Where the jobs' tools keep their caches: folders the workflow owns, never the user's home.

On compute nodes and in containers `$HOME` is often read-only. Matplotlib
(its font cache), torch (hub, extensions) and other tools that follow
`XDG_CACHE_HOME` write under the home by default; `use_workflow_caches` moves
them into the working directory's `.cache/`. torch.compile's cache
(`train_resources.compile_cache`) must be chosen before torch is imported:
importing torchvision already writes torch's own default into
`TORCHINDUCTOR_CACHE_DIR`. Torch-free, so every job can call it first.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

from .errors import NotRetryable

log = logging.getLogger(__name__)

# The folder, relative to the working directory, that holds the caches below.
WORKFLOW_CACHE = ".cache"
# Variable -> its folder under WORKFLOW_CACHE. XDG_CACHE_HOME also covers torch's hub and extensions
# (TORCH_HOME defaults to $XDG_CACHE_HOME/torch) and fontconfig; CUDA_CACHE_PATH is CUDA's kernel cache (~/.nv).
HOME_CACHES = {"XDG_CACHE_HOME": ".", "MPLCONFIGDIR": "matplotlib", "CUDA_CACHE_PATH": "nv"}
COMPILE_CACHE_VARIABLE = "TORCHINDUCTOR_CACHE_DIR"


def use_workflow_caches(root: os.PathLike = WORKFLOW_CACHE,
                        environ: MutableMapping[str, str] = os.environ) -> dict[str, str]:
    """Point the caches that default to the home (HOME_CACHES) under `root`, unless the user set them.

    Returns:
        the variables set here, with their absolute folders (the jobs inherit them from the environment).

    """
    chosen = {}
    for variable, folder in HOME_CACHES.items():
        if variable not in environ:
            environ[variable] = chosen[variable] = str((Path(root) / folder).resolve())
    return chosen


def use_compile_cache(folder: os.PathLike | None, compiles: bool | str = True,
                      environ: MutableMapping[str, str] = os.environ) -> Path | None:
    """Make `folder` torch.compile's cache; call it before torch is imported.

    The user's TORCHINDUCTOR_CACHE_DIR wins.

    Args:
        folder: config train_resources.compile_cache; None leaves torch's own default (under /tmp, per node).
        compiles: config training.compile (true, false or "auto"); a job that never compiles (false) makes and
            checks no folder.
        environ: the environment to read TORCHINDUCTOR_CACHE_DIR from and write it to.

    Returns:
        the cache folder in use (created), or None for torch's default.

    Raises:
        RuntimeError: torch is imported already, so its default may be in the environment as if the user had set it.
        NotRetryable: the folder cannot be created or written; the message names it and where it was set.

    """
    if compiles is False:
        return None
    if "torch" in sys.modules:
        raise RuntimeError(f"the compile cache must be chosen before torch is imported ({COMPILE_CACHE_VARIABLE})")
    if COMPILE_CACHE_VARIABLE in environ:
        folder, source = environ[COMPILE_CACHE_VARIABLE], f"environment variable {COMPILE_CACHE_VARIABLE}"
    elif folder is None:
        return None
    else:
        source = "config key train_resources.compile_cache"
    path = Path(folder).resolve()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        instead = ("unset it" if source.startswith("environment") else "set it to null") + " for torch's default under /tmp"
        raise NotRetryable(f"{source}: the compile cache {path} cannot be created or written "
                           f"({error.strerror or error}); give a writable folder, or {instead}") from error
    environ[COMPILE_CACHE_VARIABLE] = str(path)
    log.info("compile cache: in use (folder=%s, set_by=%s)", path, source)
    return path
