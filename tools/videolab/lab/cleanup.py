"""One place that undoes what a run set up, whatever way the run ends.

Every resource (namespace, process) is registered right after it exists; `run_all` undoes them
newest first. It runs from `finally`, from atexit, and SIGINT/SIGTERM are turned into SystemExit
so the `finally` blocks run on Ctrl-C and on `kill` too.
"""

import atexit
import signal
import sys

_stack = []


def push(what, undo):
    """Registers `undo()` (named `what` for messages); returns a token for `pop`."""
    token = (what, undo)
    _stack.append(token)
    return token


def pop(token, run=True):
    """Undoes one resource now (or forgets it when run=False)."""
    if token in _stack:
        _stack.remove(token)
        if run:
            _safe(*token)


def run_all():
    while _stack:
        _safe(*_stack.pop())


def _safe(what, undo):
    try:
        undo()
    except Exception as e:  # cleanup must go on with the rest
        print(f"videolab: cleanup of {what} failed: {e}", file=sys.stderr)


def _on_signal(signum, _frame):
    # Leave by SystemExit so every finally block and atexit runs; a second signal is ignored
    # to let the cleanup finish.
    signal.signal(signum, signal.SIG_IGN)
    raise SystemExit(128 + signum)


def install():
    atexit.register(run_all)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
