"""Send a rule script's output (Python's and C libraries', progress bars included) to its log file."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def log_to(path: os.PathLike | None) -> Iterator[None]:
    """Redirect stdout and stderr (file descriptors 1 and 2) to `path` for the block.

    An exception is written to the log, then re-raised so Snakemake fails the
    job and names the log.
    """
    if path is None:
        yield
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    stopped = None
    with open(path, "a", buffering=1) as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        try:
            yield
        except SystemExit as exit:
            stopped = getattr(exit, "message", None)  # a signal's TrainingInterrupted: why, and where it stopped
            raise
        except BaseException:
            traceback.print_exc()
            raise
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            if stopped:
                # Also where the scheduler's own job log sees it: Snakemake removes a failed job's log before a retry.
                logging.getLogger(__name__).error(stopped)
