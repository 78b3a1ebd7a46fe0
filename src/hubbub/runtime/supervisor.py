"""The supervisor of ``hubbub run --workers N``: the listening sockets, N
worker processes, and nothing else.

The supervisor binds the address and starts each worker as a new process
(the same command line, with ``HUBBUB_WORKER`` set) that inherits a
listening socket: where the system has ``SO_REUSEPORT``, one socket per
worker index, all bound to the address, and the kernel spreads new
connections over them by their addresses (one socket shared by every
worker goes to whichever wakes first: one busy worker could take nearly
all); elsewhere, or for a socket the caller gives, one shared socket. The
workers route requests among themselves (``runtime.mesh``). The supervisor
keeps every socket open, so connections that reach the socket of a worker
being replaced wait in its backlog for the new one, never refused. The
supervisor never reads a request. It:

* replaces a worker that exits, after a delay that doubles while
  replacements keep dying young;
* on SIGTERM or SIGINT, asks every worker to drain (SIGTERM), waits
  ``grace`` seconds, then kills what is left;
* on SIGHUP, replaces the workers one at a time: the others keep accepting,
  so no connection is refused, and the worker being replaced cuts its
  clients off (``LEAVE_SIGNAL``), so they reconnect to the others;
* kills a worker whose event loop stopped turning (a handler that blocks
  it, a deadlock) for ``timeout`` seconds, and so replaces it: each worker
  touches a heartbeat file from its loop every ``HEARTBEAT`` seconds;
* logs what it does on the "hubbub.supervisor" logger.

Each worker also holds the read end of a pipe the supervisor keeps open:
when the supervisor dies, however it dies, its workers see the pipe close
and stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from types import FrameType

log = logging.getLogger("hubbub.supervisor")

WORKER_ENV = "HUBBUB_WORKER"
# asks a worker to leave its clients to the others: it stops at once and its
# clients, cut off, reconnect to them (SIGTERM drains: they are told goodbye)
LEAVE_SIGNAL = signal.SIGUSR1
MAX_WORKERS = 64  # the worker tags of hubbub.sessionids
_TICK = 0.05
_FIRST_DELAY = 0.1
_MAX_DELAY = 10.0
# a worker that ran this long before dying was no crash loop
_HEALTHY_AFTER = 10.0
# how often a worker's loop touches its heartbeat file
HEARTBEAT = 1.0
# how long a worker's heartbeat may stop before it is taken for hung (gunicorn's
# default worker timeout): far past any pause of a loop that still turns
DEFAULT_TIMEOUT = 30.0


def worker_count(value: str | int) -> int:
    """``auto`` (the machine's cores) or a number of workers."""
    if value == "auto":
        count = os.cpu_count() or 1
    else:
        count = int(value)
        if count < 1:
            raise ValueError("at least one worker")
    return min(count, MAX_WORKERS)


def worker_file(directory: str, index: int, ext: str) -> str:
    """A worker's file in the workers' directory: its link socket ("sock"),
    its mark of serving ("ready")."""
    return os.path.join(directory, f"{index}.{ext}")


class WorkerSpec:
    """What a supervisor tells a worker (in ``HUBBUB_WORKER``)."""

    __slots__ = ("alive_fd", "count", "directory", "fd", "index")

    def __init__(self, index: int, count: int, fd: int, directory: str, alive_fd: int) -> None:
        self.index = index
        self.count = count
        self.fd = fd  # the listening socket
        self.directory = directory  # of the workers' link sockets
        self.alive_fd = alive_fd  # the pipe that closes when the supervisor is gone

    @classmethod
    def from_env(cls) -> WorkerSpec | None:
        """This process's spec when a supervisor started it as a worker. It is
        taken out of the environment, and its descriptors out of what child
        processes inherit, so the worker's own children are no workers."""
        value = os.environ.pop(WORKER_ENV, None)
        if not value:
            return None
        index, count, fd, alive, directory = value.split(",", 4)
        spec = cls(int(index), int(count), int(fd), directory, int(alive))
        for inherited in (spec.fd, spec.alive_fd):
            os.set_inheritable(inherited, False)
        return spec

    def to_env(self) -> str:
        return f"{self.index},{self.count},{self.fd},{self.alive_fd},{self.directory}"

    def socket_path(self, index: int) -> str:
        return worker_file(self.directory, index, "sock")

    def ready_path(self, index: int) -> str:
        """The file a worker makes once it serves (linked to the others)."""
        return worker_file(self.directory, index, "ready")

    def mark_ready(self) -> None:
        with open(self.ready_path(self.index), "w"):
            pass

    def heartbeat_path(self, index: int) -> str:
        """The file whose modification time a worker's loop renews."""
        return worker_file(self.directory, index, "beat")

    def keep_beating(self, call_later: Callable[[float, Callable[[], None]], object]) -> None:
        """Renew this worker's heartbeat now and every ``HEARTBEAT`` seconds
        from its event loop (``call_later`` is the loop's): it stops when the
        loop does, which is what the supervisor watches for."""
        path = self.heartbeat_path(self.index)

        def beat() -> None:
            with contextlib.suppress(OSError):  # the supervisor is gone
                os.utime(path)
            call_later(HEARTBEAT, beat)

        beat()


class _Worker:
    __slots__ = ("beat", "beat_seen", "delay", "due", "index", "killed", "proc", "started")

    def __init__(self, index: int) -> None:
        self.index = index
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.delay = _FIRST_DELAY
        self.due: float | None = 0.0  # when to start it (None: running or stopping)
        # the heartbeat file's last modification time seen, and when (monotonic:
        # the file's times are the wall clock's, which may jump; only a change
        # of it counts)
        self.beat = 0
        self.beat_seen = 0.0
        self.killed = False  # for not answering: it is being replaced


class Supervisor:
    def __init__(
        self,
        command: Sequence[str],
        host: str,
        port: int,
        workers: int,
        *,
        grace: float = 10.0,
        sock: socket.socket | None = None,
        ipc_dir: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if not 1 <= workers <= MAX_WORKERS:
            raise ValueError(f"workers must be in 1..{MAX_WORKERS}")
        if timeout < 0:
            raise ValueError("timeout must be 0 (never) or more")
        # a worker whose loop has not turned for this long is killed (0: never)
        self.timeout = timeout
        self.command = list(command)
        self.host = host
        self.port = port
        self.count = workers
        self.grace = grace
        self.sock = sock
        # the listening socket of each worker index (the same one, shared,
        # where there is no SO_REUSEPORT or the caller gave one)
        self.listeners: list[socket.socket] = []
        # where the workers' link sockets are: a fresh directory, or the one
        # given (hubbub.IpcEmitter reaches the workers there)
        self.ipc_dir = ipc_dir
        self.directory = ""
        self.workers = [_Worker(i) for i in range(workers)]
        self._stopping = False
        self._reload = False
        self._alive_r = -1
        self._alive_w = -1

    # -- signals -----------------------------------------------------------------------

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        self._stopping = True

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        self._reload = True

    # -- running -------------------------------------------------------------------------

    def run(self) -> int:
        self.listeners = self._listen()
        self.sock = self.listeners[0]
        for listener in self.listeners:
            listener.set_inheritable(True)
        self.port = self.sock.getsockname()[1]
        if self.ipc_dir:
            os.makedirs(self.ipc_dir, mode=0o700, exist_ok=True)
            self.directory = self.ipc_dir
        else:
            self.directory = tempfile.mkdtemp(prefix="hubbub-workers-")
        self._alive_r, self._alive_w = os.pipe()
        os.set_inheritable(self._alive_r, True)
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)
        log.info(
            "hubbub supervisor (pid %d) listening on http://%s:%d with %d workers",
            os.getpid(),
            self.host,
            self.port,
            self.count,
        )
        try:
            while not self._stopping:
                if self._reload:
                    self._reload = False
                    self._rolling_replace()
                    continue
                self._tend()
                time.sleep(_TICK)
            self._stop_all()
        finally:
            for listener in set(self.listeners):
                listener.close()
            os.close(self._alive_r)
            os.close(self._alive_w)
            if self.ipc_dir:
                for worker in self.workers:  # a killed worker leaves its files
                    for ext in ("sock", "ready", "beat"):
                        with contextlib.suppress(OSError):
                            os.unlink(worker_file(self.directory, worker.index, ext))
            else:
                shutil.rmtree(self.directory, ignore_errors=True)
        log.info("hubbub supervisor stopped")
        return 0

    def _listen(self) -> list[socket.socket]:
        if self.sock is not None:
            return [self.sock] * self.count
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        if not hasattr(socket, "SO_REUSEPORT"):
            sock = socket.create_server((self.host, self.port), family=family, backlog=2048)
            return [sock] * self.count
        listeners: list[socket.socket] = []
        port = self.port
        try:
            for _ in range(self.count):
                sock = socket.create_server(
                    (self.host, port), family=family, backlog=2048, reuse_port=True
                )
                listeners.append(sock)
                port = sock.getsockname()[1]  # a port of 0 is chosen by the first bind
        except OSError:
            for sock in listeners:
                sock.close()
            raise
        return listeners

    def _tend(self) -> None:
        """Start the workers that are due, notice the ones that died."""
        now = time.monotonic()
        for worker in self.workers:
            proc = worker.proc
            if proc is not None:
                code = proc.poll()
                if code is None:
                    self._check_heartbeat(worker, proc, now)
                    continue
                worker.proc = None
                lived = now - worker.started
                if lived > _HEALTHY_AFTER:
                    worker.delay = _FIRST_DELAY
                log.warning(
                    "worker %d (pid %d) exited with %s after %.1fs; replacing it in %.1fs",
                    worker.index,
                    proc.pid,
                    _status(code),
                    lived,
                    worker.delay,
                )
                worker.due = now + worker.delay
                worker.delay = min(worker.delay * 2, _MAX_DELAY)
            if worker.due is not None and worker.due <= now:
                self._start(worker)

    def _check_heartbeat(self, worker: _Worker, proc: subprocess.Popen[bytes], now: float) -> None:
        """Kill a running worker whose heartbeat stopped ``timeout`` seconds
        ago (its start-up included); ``_tend`` then replaces it."""
        if not self.timeout or worker.killed:
            return
        try:
            beat = os.stat(worker_file(self.directory, worker.index, "beat")).st_mtime_ns
        except OSError:
            beat = worker.beat  # not there (yet): as if it had not changed
        if beat != worker.beat:
            worker.beat = beat
            worker.beat_seen = now
            return
        silent = now - worker.beat_seen
        if silent < self.timeout:
            return
        log.error(
            "worker %d (pid %d) has not answered for %.0fs (its event loop is blocked); "
            "killing it",
            worker.index,
            proc.pid,
            silent,
        )
        worker.killed = True
        with contextlib.suppress(ProcessLookupError):
            proc.kill()

    def _start(self, worker: _Worker) -> None:
        listener = self.listeners[worker.index]
        spec = WorkerSpec(
            worker.index, self.count, listener.fileno(), self.directory, self._alive_r
        )
        env = {**os.environ, WORKER_ENV: spec.to_env()}
        with contextlib.suppress(FileNotFoundError):
            os.unlink(spec.ready_path(worker.index))  # its predecessor's
        try:  # made afresh here: the worker renews its time (never creates it)
            with open(spec.heartbeat_path(worker.index), "w"):
                pass
        except OSError as exc:
            log.error("cannot make worker %d's heartbeat file: %s", worker.index, exc)
        try:
            worker.proc = subprocess.Popen(
                self.command, env=env, pass_fds=(listener.fileno(), self._alive_r)
            )
        except OSError as exc:
            log.error("cannot start worker %d: %s", worker.index, exc)
            worker.due = time.monotonic() + worker.delay
            worker.delay = min(worker.delay * 2, _MAX_DELAY)
            return
        worker.started = time.monotonic()
        worker.due = None
        # its silence is counted from its start until its first heartbeat
        worker.beat = 0
        worker.beat_seen = worker.started
        worker.killed = False
        log.info("worker %d started (pid %d)", worker.index, worker.proc.pid)

    def _wait_ready(self, worker: _Worker, timeout: float) -> bool:
        """Wait until the worker serves (linked to the others, accepting)."""
        ready = worker_file(self.directory, worker.index, "ready")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self._stopping:
            proc = worker.proc
            if proc is None or proc.poll() is not None:
                return False
            if os.path.exists(ready):
                return True
            time.sleep(_TICK)
        return False

    def _stop(self, worker: _Worker, signum: int) -> None:
        proc, worker.proc = worker.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signum)
        try:
            proc.wait(self.grace)
        except subprocess.TimeoutExpired:
            log.warning("worker %d (pid %d) did not drain in time; killing it", worker.index,
                        proc.pid)
            proc.kill()
            proc.wait()

    def _rolling_replace(self) -> None:
        log.info("SIGHUP: replacing the workers one at a time")
        for worker in self.workers:
            if self._stopping:
                return
            self._stop(worker, LEAVE_SIGNAL)
            self._start(worker)
            if not self._wait_ready(worker, 30.0):
                log.warning("worker %d did not come up; going on", worker.index)
        log.info("every worker replaced")

    def _stop_all(self) -> None:
        log.info("stopping: draining %d workers", self.count)
        running = [w.proc for w in self.workers if w.proc is not None]
        for proc in running:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        deadline = time.monotonic() + self.grace
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("worker pid %d did not drain in time; killing it", proc.pid)
                proc.kill()
                proc.wait()
        for worker in self.workers:
            worker.proc = None


def _status(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
        return f"signal {-code}"
    return f"code {code}"
