"""The server of the workers' lifecycle tests, with the default ping times
(a session outlives the tests unless something ends it): 'pid' acks its
worker's pid; 'hang' blocks its worker's event loop for good (``time.sleep``,
not patched under gevent), as a deadlocked or runaway handler does."""

from __future__ import annotations

import os
import time

import hubbub

sio = hubbub.Server()


@sio.on("hang")
def hang(socket: hubbub.Socket) -> None:
    # blocks the loop for as long as the supervisor lives (a worker the
    # watchdog failed to kill does not outlive its test's supervisor)
    supervisor = os.getppid()
    while os.getppid() == supervisor:
        time.sleep(0.1)


@sio.on("pid")
def pid(socket: hubbub.Socket) -> int:
    return os.getpid()
