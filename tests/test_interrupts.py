"""Ctrl-C and SIGTERM become a flag that is neither lost nor swallowed: nested requests (a sweep around a
job's training loop) share it, and a signal after the loop's last check still stops the run."""
import os
import signal

import pytest

from maze_cli.train.interrupts import StopRequest, TrainingInterrupted, active_stop_request


def deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)  # the handler runs before os.kill returns to Python code


def test_a_signal_sets_the_flag_and_check_raises_with_the_shell_exit_code():
    previous = signal.getsignal(signal.SIGINT)
    with pytest.raises(TrainingInterrupted) as raised:
        with StopRequest() as stop:
            assert active_stop_request() is stop
            deliver(signal.SIGTERM)
            assert stop.signum == signal.SIGTERM
            stop.check()
    assert raised.value.exit_code == 143
    assert signal.getsignal(signal.SIGINT) is previous and active_stop_request() is None


def test_a_signal_after_the_last_check_is_raised_when_the_request_ends():
    with pytest.raises(TrainingInterrupted, match="SIGINT"):
        with StopRequest():
            deliver(signal.SIGINT)  # the loop already made its last check


def test_a_nested_request_inherits_a_pending_stop_and_passes_its_own_on():
    with StopRequest() as sweep:
        deliver(signal.SIGINT)  # while the next job is being built
        with pytest.raises(TrainingInterrupted):
            with StopRequest() as training:
                training.check()
        assert active_stop_request() is sweep
        sweep.signum = None
        with pytest.raises(TrainingInterrupted):
            with StopRequest() as training:
                deliver(signal.SIGTERM)
                training.check()
        assert sweep.signum == signal.SIGTERM, "the sweep learns of a stop its job received"
        sweep.signum = None


def test_a_second_ctrl_c_interrupts_at_once():
    with pytest.raises(KeyboardInterrupt) as raised:
        with StopRequest():
            deliver(signal.SIGINT)
            deliver(signal.SIGINT)
    assert not isinstance(raised.value, TrainingInterrupted)
