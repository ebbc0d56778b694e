"""Run the ``nearmiss`` CLI and press Ctrl-C (SIGINT to itself) right after its N-th mined batch is stored.

    python tests/mine/interrupt_after.py N mine --dataset ...

The signal is sent when the mining loop asks the backend for batch N + 1, that is after batch N's
transaction committed and before any further work: the interrupt lands at a point the test
chooses, whatever the machine's speed.
"""
from __future__ import annotations

import os
import signal
import sys

from nearmiss.cli import main
from nearmiss.mine.backends import local

after = int(sys.argv.pop(1))
run = local.LocalBackend.run


def run_then_interrupt(self, res, todo):
    for n, batch in enumerate(run(self, res, todo), 1):
        yield batch  # resumed once the caller has committed this batch
        if n == after:
            os.kill(os.getpid(), signal.SIGINT)


local.LocalBackend.run = run_then_interrupt
# Ctrl-C's own handler, whatever this process inherited: a parent that ignores SIGINT hands SIG_IGN
# down, and Python then installs no KeyboardInterrupt handler (once seen in a full test run: exit 0)
signal.signal(signal.SIGINT, signal.default_int_handler)
sys.argv[0] = "nearmiss"
main()
