"""Stopping cleanly when the scheduler says so.

SLURM sends SIGTERM at a job's time limit or preemption and kills it only
after KillWait (30 s by default); sites that use `sbatch --signal=USR1@120`
send SIGUSR1 that long before the limit; a user at a terminal presses Ctrl-C
(SIGINT). `stop_on_signals` turns each into a `StopRequest` that the training
loop reads after every batch:
the batch in progress is finished, the run's exact state is written to
`last.pt`, and `TrainingInterrupted` ends the process with 128 + the signal's
number (130 for Ctrl-C, 143 for SIGTERM), so Snakemake sees a failed job,
retries it, and it resumes from that batch. A second Ctrl-C does not wait: it
raises KeyboardInterrupt at once, and the run resumes from its last checkpoint.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator

from ..errors import SignalExit

log = logging.getLogger(__name__)

# The signals that ask a training job to save and stop: SLURM's own warning, the usual `--signal` choice and Ctrl-C.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1, signal.SIGINT)
ANNOUNCEMENT = ("from here SIGTERM, SIGUSR1 and SIGINT (Ctrl-C) finish the batch in progress, save last.pt and stop "
                "(a second Ctrl-C stops at once)")


class StopRequest:
    """Whether (and by which signal) the process was asked to stop; set by the handler, read by the loop."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def requested(self) -> bool:
        """Whether a stop signal came."""
        return self.signum is not None

    @property
    def name(self) -> str:
        """The signal's name (SIGTERM, SIGUSR1), or `no signal`."""
        return signal.Signals(self.signum).name if self.signum is not None else "no signal"


class TrainingInterrupted(SignalExit):
    """Training stopped on a signal after writing its state; exits with 128 + the signal's number."""


@contextlib.contextmanager
def stop_on_signals(signals=STOP_SIGNALS, announce: bool = False) -> Iterator[StopRequest]:
    """For the block, `signals` set the returned StopRequest instead of ending the process.

    Handlers can only be installed from the main thread; elsewhere (a worker
    thread) the block runs with the signals' usual effect and a request that
    is never set. `announce`: say on stderr (a scheduler's job log) from when
    on a signal is caught; one that comes before, during the job's start-up,
    still ends the process at once, with nothing of the run's yet done.
    """
    stop = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum, frame):
        if stop.signum is None:
            log.warning("%s: received (then=finish the current batch, save last.pt, stop)", signal.Signals(signum).name)
            stop.signum = signum
        elif signum == signal.SIGINT:
            log.warning("SIGINT: received again (then=stop at once, resume from the last checkpoint)")
            raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in signals}
    if announce:
        # Straight to stderr: the scheduler's job log, before the job's log file and logging are set up.
        sys.stderr.write(ANNOUNCEMENT + "\n")
        sys.stderr.flush()
    try:
        yield stop
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
