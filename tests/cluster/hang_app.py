"""A server whose 'hang' handler blocks its worker's event loop for good
(``time.sleep``, not patched under gevent): the worker stops turning, as a
deadlocked or runaway handler makes it. 'echo' acks its argument."""

from __future__ import annotations

import os
import time

import hubbub

sio = hubbub.Server()


@sio.on("hang")
def hang(socket: hubbub.Socket) -> None:
    time.sleep(3600)


@sio.on("pid")
def pid(socket: hubbub.Socket) -> int:
    return os.getpid()
