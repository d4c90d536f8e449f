"""training.stopping: signals turned into a stop request."""

import os
import signal
import time

import pytest

from galaxy_pretraining.training.stopping import ANNOUNCEMENT, stop_on_signals


def test_stop_on_signals_turns_sigusr1_into_a_request_and_restores_the_handler():
    before = signal.getsignal(signal.SIGUSR1)
    with stop_on_signals() as stop:
        assert not stop.requested
        os.kill(os.getpid(), signal.SIGUSR1)
        time.sleep(0.01)
        assert stop.requested and stop.name == "SIGUSR1"
    assert signal.getsignal(signal.SIGUSR1) is before


def test_stop_on_signals_announces_on_stderr_from_when_a_signal_is_caught(capsys):
    with stop_on_signals(announce=True):
        pass
    with stop_on_signals():
        pass
    assert capsys.readouterr().err == ANNOUNCEMENT + "\n"


def test_ctrl_c_is_a_stop_request_and_a_second_one_stops_at_once():
    """The first SIGINT asks to save and stop after the batch (exit 130); the second raises KeyboardInterrupt."""
    with stop_on_signals() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        assert stop.requested and stop.name == "SIGINT" and 128 + stop.signum == 130
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
