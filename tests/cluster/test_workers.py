"""``hubbub run --workers 4`` on the embedded asyncio server and on gevent:
one port, four worker processes, real clients of every generation
(tests/js/workers_clients.js) and no proxy.

Forty clients: socket.io-client 4 over polling only, over websocket only and
with the upgrade; socket.io-client 2.x (Engine.IO 3, with the upgrade);
socket.io-client 0.9 over xhr-polling and over websocket. They land on
workers as the kernel hands out their connections; a polling request or a
websocket upgrade that reaches another worker than its session's is routed
to it, and the workers' IPC adapter makes one cluster of them.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import signal
import socket
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_fixtures import APP, Clients, Process, RedisServer, redis_server, wait_until

import hubbub
from conftest import free_port
from hubbub import sessionids

__all__ = ["redis_server"]  # a fixture of cluster_fixtures

pytestmark = pytest.mark.timeout(150)

WORKERS = 4
KINDS: list[tuple[str, str, list[str]]] = [
    # (name prefix, client kind, transports)
    ("poll4", "v4", ["polling"]),
    ("ws4", "v4", ["websocket"]),
    ("up4", "v4", ["polling", "websocket"]),
    ("up2", "v2", ["polling", "websocket"]),
    ("poll09", "v09", ["xhr-polling"]),
    ("ws09", "v09", ["websocket"]),
]
PER_KIND = {"poll4": 8, "ws4": 7, "up4": 7, "up2": 8, "poll09": 5, "ws09": 5}
NAMES = [f"{prefix}-{i}" for prefix, _, _ in KINDS for i in range(PER_KIND[prefix])]
assert len(NAMES) == 40


def start_workers(log_dir: Path, name: str, runtime: str, recovery: bool = False) -> Process:
    port = free_port()
    args = [sys.executable, str(APP), "--port", str(port), "--name", name]
    args += ["--workers", str(WORKERS), "--runtime", runtime]
    if recovery:
        args.append("--recovery")
    proc = Process(name, args, port, log_dir / f"{name}.log")
    proc.wait_ready()
    wait_linked(proc, WORKERS * (WORKERS - 1))
    return proc


def wait_linked(proc: Process, links: int, timeout: float = 60.0) -> None:
    """Until the workers logged ``links`` links to each other in all."""
    wait_until(
        lambda: proc.log().count(" linked to worker ") >= links,
        timeout,
        f"{links} links between the workers:\n{proc.log()}",
    )


def connect_all(clients: Clients, url: str) -> dict[str, str]:
    """Connect the forty clients; each one's worker ("name/index")."""
    servers: dict[str, str] = {}
    for prefix, kind, transports in KINDS:
        for i in range(PER_KIND[prefix]):
            name = f"{prefix}-{i}"
            welcome = clients.request(
                "connect", name=name, url=url, kind=kind, transports=transports, timeout=15000
            )
            servers[name] = welcome["server"]
    return servers


def join_all(clients: Clients, room: str) -> None:
    for name in NAMES:
        assert room in clients.emit(name, "join", room)


def broadcast_once(clients: Clients, sender: str, room: str) -> None:
    """A broadcast from ``sender``'s worker reaches every client exactly once."""
    token = secrets.token_hex(4)
    assert clients.emit(sender, "emit_to", [room], [], "hey", token) is True
    for name in NAMES:
        clients.request("wait", name=name, event="hey", count=1, timeout=10000)
    time.sleep(0.3)  # time for a duplicate to arrive, were there one
    for name in NAMES:
        got = [e for e in clients.events(name, clear=True) if e[0] == "hey" and e[1] == token]
        assert len(got) == 1, (name, got)


def worker_pids(supervisor: Process) -> dict[int, int]:
    """The pid of each worker index, read from the workers' environments."""
    pids: dict[int, int] = {}
    pid = supervisor.proc.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    for child in children:
        try:
            environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
        except OSError:
            continue
        for entry in environ:
            if entry.startswith(b"HUBBUB_WORKER="):
                pids[int(entry.split(b"=", 1)[1].split(b",")[0])] = int(child)
    return pids


def wait_all_connected(clients: Clients, welcomes: dict[str, int], timeout: float = 30) -> None:
    behind: dict[str, object] = {}

    def check() -> bool:
        behind.clear()
        for name in NAMES:
            state = clients.request("state", name=name)
            if not state["connected"] or state["welcomes"] < welcomes.get(name, 1):
                behind[name] = state
        return not behind

    try:
        wait_until(check, timeout, "every client connected again")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {behind}") from None


# -- the cluster of the acceptance tests ---------------------------------------------------


class Cluster:
    def __init__(self, proc: Process, clients: Clients, servers: dict[str, str]) -> None:
        self.proc = proc
        self.clients = clients
        self.servers = servers


@pytest.fixture(scope="module", params=["asyncio", "gevent"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    log_dir = tmp_path_factory.mktemp(f"workers-{request.param}")
    proc = start_workers(log_dir, "w4", request.param)
    clients = Clients("workers_clients.js", log_dir / "clients.log")
    try:
        servers = connect_all(clients, proc.url)
        join_all(clients, "all")
        yield Cluster(proc, clients, servers)
    finally:
        clients.close()
        proc.stop()


def test_clients_spread_over_the_workers(cluster: Cluster) -> None:
    workers = set(cluster.servers.values())
    assert workers <= {f"w4/{i}" for i in range(WORKERS)}
    assert len(workers) >= 2, cluster.servers  # the kernel spreads connections
    for name in NAMES:
        assert cluster.clients.emit(name, "server_count") == WORKERS


def _handshakes_at_once(port: int, count: int) -> list[str]:
    """``count`` connections opened together, then one Engine.IO handshake
    on each: the session ids."""
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(count)]
    try:
        request = b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n"
        for sock in socks:
            sock.sendall(request)
        sids = []
        for sock in socks:
            data = b""
            while b'"sid":"' not in data or b'"' not in data.split(b'"sid":"', 1)[1]:
                chunk = sock.recv(4096)
                assert chunk, data
                data += chunk
            sids.append(data.split(b'"sid":"', 1)[1].split(b'"', 1)[0].decode())
        return sids
    finally:
        for sock in socks:
            sock.close()


def test_connections_spread_over_every_worker(cluster: Cluster) -> None:
    """Each worker listens on a socket of its own (SO_REUSEPORT): the kernel
    spreads connections by address, not to whichever worker wakes first (on
    one shared socket, a burst of connections went nearly all to one)."""
    owners = [sessionids.owner(sid) for sid in _handshakes_at_once(cluster.proc.port, 80)]
    counts = {index: owners.count(index) for index in range(WORKERS)}
    # a fair spread gives each about 20 (a worker under 7: about 1 in 5,000)
    assert all(n >= 7 for n in counts.values()), counts


def test_each_worker_serves_only_once_linked_to_the_others(cluster: Cluster) -> None:
    """A worker that served before its links were up broadcast into the
    void: its log says 'serving' after it linked to every other worker."""
    lines = cluster.proc.log().splitlines()
    for index in range(WORKERS):
        serving = next(
            i
            for i, line in enumerate(lines)
            if re.search(rf"worker {index} \(pid \d+\) serving", line)
        )
        linked = [i for i, line in enumerate(lines) if f"worker {index}: linked to worker" in line]
        assert len(linked) == WORKERS - 1, (index, linked)
        assert max(linked) < serving, (index, lines)


@pytest.mark.parametrize("sender", ["poll4-0", "ws4-1", "up4-2", "up2-3", "poll09-0", "ws09-1"])
def test_a_room_broadcast_reaches_everyone_once(cluster: Cluster, sender: str) -> None:
    broadcast_once(cluster.clients, sender, "all")


def test_broadcast_acks_collect_every_client(cluster: Cluster) -> None:
    result = cluster.clients.request(
        "call", name="up4-0", event="poll", args=["all", 8.0], timeout=15000
    )
    assert result["timeout"] is False
    assert sorted(r["client"] for r in result["responses"]) == sorted(NAMES)


def test_fetch_sockets_sees_every_client(cluster: Cluster) -> None:
    sockets = cluster.clients.request("call", name="ws09-0", event="fetch", args=["all"])
    assert len(sockets) == 40
    assert {s["server"] for s in sockets} == set(cluster.servers.values())
    assert all("all" in s["rooms"] for s in sockets)


def test_server_side_emit_answers_from_every_other_worker(cluster: Cluster) -> None:
    result = cluster.clients.request("call", name="poll4-1", event="server_side", args=[7])
    assert result["error"] is None
    assert len(result["answers"]) == WORKERS - 1


# -- one keep-alive connection, requests of two sessions on different workers -------------


def _eio_session(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/socket.io/?EIO=4&transport=polling")
        body = conn.getresponse().read()
    finally:
        conn.close()
    assert body.startswith(b"0{"), body
    sid: str = json.loads(body[1:])["sid"]
    return sid


def test_interleaved_sessions_on_one_keepalive_connection(cluster: Cluster) -> None:
    port = cluster.proc.port
    sids: dict[int | None, str] = {}
    for _ in range(200):  # until the kernel gave connections to two workers
        sid = _eio_session(port)
        sids.setdefault(sessionids.owner(sid), sid)
        if len(sids) >= 2:
            break
        time.sleep(0.01)
    assert len(sids) >= 2, "every handshake landed on one worker"
    a, b = list(sids.values())[:2]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.connect()
    sock = conn.sock

    def post(sid: str, payload: str) -> None:
        conn.request("POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", body=payload)
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"ok")

    def get_until(sid: str, wanted: str) -> None:
        for _ in range(10):
            conn.request("GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
            response = conn.getresponse()
            body = response.read().decode()
            assert response.status == 200, body
            packets = body.split("\x1e")
            if "2" in packets:
                post(sid, "3")  # a ping answered, as a client does
            if any(p.startswith(wanted) for p in packets):
                return
        raise AssertionError(f"{sid}: no {wanted!r}")

    for sid in (a, b):
        post(sid, "40")
    for sid in (a, b):
        get_until(sid, "40{")
    for i in range(6):
        for sid in (a, b):
            post(sid, f'42{i}["server_count"]')
        for sid in (a, b):
            get_until(sid, f"43{i}[{WORKERS}]")
    assert conn.sock is sock  # every request went over the one connection
    conn.close()


# -- lifecycle ------------------------------------------------------------------------------


@pytest.fixture(params=["asyncio", "gevent"])
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    proc = start_workers(tmp_path, "life", request.param)
    clients = Clients("workers_clients.js", tmp_path / "clients.log")
    try:
        servers = connect_all(clients, proc.url)
        join_all(clients, "all")
        yield Cluster(proc, clients, servers)
    finally:
        clients.close()
        proc.stop()


def test_a_killed_worker_is_replaced_and_its_clients_come_back(fresh: Cluster) -> None:
    counts: dict[str, int] = {}
    for server in fresh.servers.values():
        counts[server] = counts.get(server, 0) + 1
    victim_name = max(counts, key=lambda s: counts[s])
    victim = int(victim_name.split("/")[1])
    orphans = [name for name, server in fresh.servers.items() if server == victim_name]
    pids = worker_pids(fresh.proc)
    assert sorted(pids) == list(range(WORKERS))
    os.kill(pids[victim], signal.SIGKILL)
    wait_until(
        lambda: (
            re.search(rf"worker {victim} \(pid \d+\) exited with signal SIGKILL", fresh.proc.log())
            is not None
        ),
        10,
        "the supervisor noticing",
    )
    wait_until(
        lambda: worker_pids(fresh.proc).get(victim, pids[victim]) != pids[victim],
        15,
        "a replacement worker",
    )
    # the replacement links to the three others and they to it
    wait_linked(fresh.proc, WORKERS * (WORKERS - 1) + 2 * (WORKERS - 1))
    wait_all_connected(fresh.clients, {name: 2 for name in orphans})
    for name in NAMES:
        assert fresh.clients.emit(name, "server_count") == WORKERS
    join_all(fresh.clients, "after")
    for name in NAMES:
        fresh.clients.events(name, clear=True)
    broadcast_once(fresh.clients, orphans[0], "after")
    broadcast_once(fresh.clients, NAMES[-1], "after")


def test_sighup_replaces_every_worker_and_loses_no_client(fresh: Cluster) -> None:
    old = worker_pids(fresh.proc)
    assert fresh.clients.emit("ws4-0", "ticker", "all", 400, 0.05) is True
    fresh.proc.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "every worker replaced" in fresh.proc.log(), 90, "the rolling replace")
    new = worker_pids(fresh.proc)
    assert sorted(new) == list(range(WORKERS))
    assert not set(new.values()) & set(old.values())
    wait_all_connected(fresh.clients, {name: 2 for name in NAMES})
    for name in NAMES:
        ticks = [e[1] for e in fresh.clients.events(name) if e[0] == "tick"]
        assert len(ticks) == len(set(ticks)), (name, ticks)  # none twice
    join_all(fresh.clients, "after")
    for name in NAMES:
        fresh.clients.events(name, clear=True)
    broadcast_once(fresh.clients, "up2-0", "after")


# -- the command line, and SIGTERM ------------------------------------------------------------


def _request(port: int, method: str, url: str, body: bytes = b"") -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, url, body=body or None)
        response = conn.getresponse()
        data = response.read()
        assert response.status == 200, (method, url, response.status, data)
        return data
    finally:
        conn.close()


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_hubbub_run_workers_routes_and_drains_on_sigterm(runtime: str, tmp_path: Path) -> None:
    """``hubbub run --workers 2`` with a plain Engine.IO echo server (gevent:
    monkey-patched): sessions of both workers echo through fresh connections
    (so through either worker), and SIGTERM closes every session with its
    goodbye and exits 0."""
    port = free_port()
    args = [sys.executable, "-m", "hubbub", "run", "examples.engineio_echo:eio"]
    args += ["--port", str(port), "--workers", "2", "--runtime", runtime]
    if runtime == "gevent":
        args.append("--monkey-patch")  # the links' sockets are gevent's then
    proc = Process("cli", args, port, tmp_path / "cli.log")
    try:
        proc.wait_ready()
        wait_linked(proc, 2)
        path = "/engine.io/?EIO=4&transport=polling"
        sids: dict[int | None, str] = {}
        for _ in range(200):  # until the kernel gave a connection to each worker
            sid = json.loads(_request(port, "GET", path)[1:])["sid"]
            sids.setdefault(sessionids.owner(sid), sid)
            if len(sids) == 2:
                break
            time.sleep(0.01)
        assert sorted(sids, key=str) == [0, 1]
        for round_ in range(4):
            for sid in sids.values():
                _request(port, "POST", f"{path}&sid={sid}", f"4echo {round_}".encode())
            for sid in sids.values():
                assert _request(port, "GET", f"{path}&sid={sid}") == f"4echo {round_}".encode()
        proc.proc.send_signal(signal.SIGTERM)
        # each worker drains: a held poll gets the close packet
        for sid in sids.values():
            with contextlib.suppress(ConnectionError, AssertionError):
                assert _request(port, "GET", f"{path}&sid={sid}") in (b"1", b"6")
        assert proc.proc.wait(20) == 0
        log = proc.log()
        assert "stopping: draining 2 workers" in log
        assert log.count("draining") >= 3  # the supervisor's line and each worker's
        assert "hubbub supervisor stopped" in log
    finally:
        proc.stop()


def _sio_session(port: int) -> tuple[str, str]:
    """A Socket.IO session over polling, connected to '/': (sid, path)."""
    path = "/socket.io/?EIO=4&transport=polling"
    sid = json.loads(_request(port, "GET", path)[1:])["sid"]
    path += f"&sid={sid}"
    assert _request(port, "POST", path, b"40") == b"ok"
    assert _request(port, "GET", path).startswith(b"40{")
    return sid, path


def _ack(port: int, path: str, event: str) -> Any:
    assert _request(port, "POST", path, f'420["{event}"]'.encode()) == b"ok"
    body = _request(port, "GET", path).decode()
    assert body.startswith("430["), body
    return json.loads(body[3:])[0]


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_a_worker_whose_loop_is_blocked_is_killed_and_replaced(
    runtime: str, tmp_path: Path
) -> None:
    """A handler blocks its worker's event loop for good: past
    ``--worker-timeout`` the supervisor kills that worker (it stopped
    renewing its heartbeat) and starts another, which serves; the other
    worker, whose loop turns, is left alone."""
    port = free_port()
    args = [sys.executable, "-m", "hubbub", "run", "tests.cluster.lifecycle_app:sio"]
    args += ["--port", str(port), "--workers", "2", "--runtime", runtime]
    args += ["--worker-timeout", "2"]
    proc = Process("hang", args, port, tmp_path / "hang.log")
    try:
        proc.wait_ready()
        wait_linked(proc, 2)
        pids = worker_pids(proc)
        assert sorted(pids) == [0, 1]
        sessions: dict[int | None, tuple[str, str]] = {}
        for _ in range(200):  # a session on each worker
            sid, path = _sio_session(port)
            sessions.setdefault(sessionids.owner(sid), (sid, path))
            if len(sessions) == 2:
                break
        assert sorted(sessions, key=str) == [0, 1]
        _, hung_path = sessions[0]
        assert _ack(port, hung_path, "pid") == pids[0]
        # the POST that carries 'hang' is answered only once its handler
        # returns, which it never does: sent on a socket of its own
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        body = b'42["hang"]'
        sock.sendall(
            f"POST {hung_path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
            .encode() + body
        )
        blocked = time.monotonic()
        wait_until(
            lambda: re.search(r"worker 0 \(pid \d+\) has not answered for", proc.log())
            is not None,
            15,
            f"the supervisor noticing the blocked worker:\n{proc.log()}",
        )
        # not before its timeout (2 s) has passed
        assert time.monotonic() - blocked >= 1.5
        wait_until(
            lambda: worker_pids(proc).get(0, pids[0]) != pids[0], 15, "a replacement worker"
        )
        sock.close()
        wait_linked(proc, 2 + 2)  # the new worker 0 and worker 1 linked again
        assert worker_pids(proc)[1] == pids[1]  # the worker that turned stays
        served: set[int] = set()
        for _ in range(200):  # fresh sessions reach both workers, the new one too
            sid, path = _sio_session(port)
            served.add(_ack(port, path, "pid"))
            if len(served) == 2:
                break
        assert served == set(worker_pids(proc).values())
        assert "has not answered" not in proc.log().split("exited with signal SIGKILL", 1)[1]
    finally:
        proc.stop()


def _read_response(sock: socket.socket) -> bytes:
    """One HTTP response with a Content-Length from ``sock``: its body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    match = re.search(rb"(?i)content-length: *(\d+)", head)
    assert match is not None, head
    length = int(match.group(1))
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, body
        body += chunk
    return body


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_a_client_gone_during_a_forwarded_poll_closes_its_session(
    runtime: str, tmp_path: Path
) -> None:
    """A held GET that one worker read for another worker's session, whose
    client then closes the connection: the owner ends that session at once
    ("transport close"), as it does for a GET it reads itself, not at the
    session's heartbeat (45 s here) or its connect timeout."""
    port = free_port()
    args = [sys.executable, "-m", "hubbub", "run", "tests.cluster.lifecycle_app:sio"]
    args += ["--port", str(port), "--workers", "2", "--runtime", runtime]
    proc = Process("fwd", args, port, tmp_path / "fwd.log")
    path = "/socket.io/?EIO=4&transport=polling"
    request = "GET {} HTTP/1.1\r\nHost: x\r\n\r\n"
    try:
        proc.wait_ready()
        wait_linked(proc, 2)
        conn = None
        other = ""
        for _ in range(100):
            # the worker that reads this connection is the one that makes the
            # session of a handshake sent on it
            conn = socket.create_connection(("127.0.0.1", port), timeout=5)
            conn.sendall(request.format(path).encode())
            here = sessionids.owner(json.loads(_read_response(conn)[1:])["sid"])
            for _ in range(50):  # a session of the other worker
                sid = json.loads(_request(port, "GET", path)[1:])["sid"]
                if sessionids.owner(sid) != here:
                    other = sid
                    break
            if other:
                break
            conn.close()
        assert conn is not None and other, "every connection went to one worker"
        conn.sendall(request.format(f"{path}&sid={other}").encode())
        time.sleep(0.3)  # forwarded to its owner, and held there
        conn.close()

        def gone() -> bool:
            # a POST to a live session is answered "ok", to an ended one 400
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                probe.request("POST", f"{path}&sid={other}", body=b"6")
                return probe.getresponse().status == 400
            finally:
                probe.close()

        wait_until(gone, 5, f"the owner ending the session:\n{proc.log()}")
    finally:
        proc.stop()


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_a_session_id_of_unicode_digits_names_no_worker(runtime: str, tmp_path: Path) -> None:
    """A 0.6 session id of digits other than ASCII's ("²²", as raw bytes or
    as %B2 escapes, which gevent decodes) names no worker: the request is
    answered as one for an unknown session, by whichever worker reads it
    (the embedded server's HTTP parser refuses a URL of raw non-ASCII bytes
    with 400 before that, and leaves %B2 undecoded)."""
    port = free_port()
    args = [sys.executable, "-m", "hubbub", "run", "tests.cluster.lifecycle_app:sio"]
    args += ["--port", str(port), "--workers", "2", "--runtime", runtime]
    proc = Process("digits", args, port, tmp_path / "digits.log")
    upgrade = (
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    )
    raw = 400 if runtime == "asyncio" else None  # the answer to raw bytes, if not the usual
    requests = [
        # (request line, extra headers, the answer to a request for no session)
        ("GET /socket.io/xhr-polling/\xb2\xb2/1234", "", raw or 404),
        ("GET /socket.io/xhr-polling/%B2%B2/1234", "", 404),
        ("GET /socket.io/jsonp-polling/\xb2\xb3\xb9/1234/0", "", raw or 404),
        ("POST /socket.io/htmlfile/%B2%B2/send", "Content-Length: 0\r\n", 404),
        # a 0.6 websocket never names a session
        ("GET /socket.io/websocket/\xb2\xb2", upgrade, 400),
        ("GET /socket.io/websocket/%B2%B2", upgrade, 400),
    ]
    try:
        proc.wait_ready()
        wait_linked(proc, 2)
        for _ in range(4):  # on fresh connections: each worker reads some of them
            for line, headers, status in requests:
                with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                    conn.sendall(f"{line} HTTP/1.1\r\nHost: x\r\n{headers}\r\n".encode("latin-1"))
                    answer = conn.recv(4096)
                assert answer.startswith(f"HTTP/1.1 {status} ".encode()), (line, answer)
        assert proc.proc.poll() is None
        assert "Traceback" not in proc.log(), proc.log()
    finally:
        proc.stop()


# -- connection state recovery across the workers -----------------------------------------------


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_recovery_across_workers_misses_nothing(runtime: str, tmp_path: Path) -> None:
    """Clients cut off during a broadcast stream reconnect, most of them to
    another worker, recover their sessions, and get every tick exactly once."""
    proc = start_workers(tmp_path, "rec", runtime, recovery=True)
    clients = Clients("workers_clients.js", tmp_path / "clients.log")
    names = [f"r{i}" for i in range(8)]
    try:
        first = {}
        for name in names:
            welcome = clients.request("connect", name=name, url=proc.url, kind="v4")
            first[name] = welcome["server"]
            assert "rec" in clients.emit(name, "join", "rec")
        ticks = 150
        assert clients.emit(names[0], "ticker", "rec", ticks, 0.03) is True
        moved = 0
        for name in names[1:]:
            time.sleep(0.2)
            welcome = clients.request("cut", name=name, timeout=10000)
            assert welcome["recovered"] is True, welcome
            assert welcome["socketRecovered"] is True, welcome
            moved += welcome["server"] != first[name]
        assert moved >= 1  # the kernel put some reconnections on other workers
        for name in names:
            clients.request("wait", name=name, event="tick", count=ticks, timeout=20000)
        time.sleep(0.3)
        for name in names:
            got = [e[1] for e in clients.events(name) if e[0] == "tick"]
            assert sorted(got) == list(range(ticks)), (name, got)
    finally:
        clients.close()
        proc.stop()


# -- hubbub.Emitter on the workers' IPC links ---------------------------------------------


def test_ipc_emitter_reaches_every_worker(tmp_path: Path) -> None:
    ipc_dir = tmp_path / "ipc"
    port = free_port()
    args = [sys.executable, str(APP), "--port", str(port), "--name", "em"]
    args += ["--workers", str(WORKERS), "--ipc-dir", str(ipc_dir)]
    proc = Process("em", args, port, tmp_path / "em.log")
    clients = Clients("workers_clients.js", tmp_path / "clients.log")
    names = [f"e{i}" for i in range(12)]
    try:
        proc.wait_ready()
        wait_linked(proc, WORKERS * (WORKERS - 1))
        for i, name in enumerate(names):
            kind = "v09" if i % 3 == 2 else "v4"
            transports = ["xhr-polling"] if kind == "v09" else ["polling", "websocket"]
            clients.request("connect", name=name, url=proc.url, kind=kind, transports=transports)
            if i % 2 == 0:
                assert "news" in clients.emit(name, "join", "news")
        emitter = hubbub.Emitter(f"ipc://{ipc_dir}")
        assert emitter.to("news").emit("mark", "to the room") == WORKERS
        assert emitter.emit("mark", "to everyone") == WORKERS
        for i, name in enumerate(names):
            want = (["to the room"] if i % 2 == 0 else []) + ["to everyone"]
            got = clients.request("wait", name=name, event="mark", count=len(want))
            assert [g[0] for g in got] == want, (name, got)
        # the selected sockets of every worker join a room
        assert emitter.in_("news").sockets_join("late") == WORKERS
        assert emitter.to("late").emit("mark", "late") == WORKERS
        for i, name in enumerate(names[:4]):
            if i % 2 == 0:
                clients.request("wait", name=name, event="mark", count=3)
        time.sleep(0.3)
        for i, name in enumerate(names):
            marks = [e[1] for e in clients.events(name) if e[0] == "mark"]
            assert marks.count("late") == (1 if i % 2 == 0 else 0), (name, marks)
        # every worker's server_side_emit handler hears it; the announcement
        # goes to each worker's own clients, so each client gets it once
        assert emitter.server_side_emit("announce", "from-ipc") == WORKERS
        for name in names:
            got = clients.request("wait", name=name, event="announced", count=1)
            assert [g[1] for g in got] == ["from-ipc"], (name, got)
        # hubbub.IpcEmitter is the same emitter; of() keeps the directory
        alias = hubbub.IpcEmitter(str(ipc_dir)).of("/")
        assert alias.nsp == "/"
        assert alias.except_("news").emit("mark", "not news") == WORKERS
        for i, name in enumerate(names):
            if i % 2 == 1:  # "to everyone", then this one
                clients.request("wait", name=name, event="mark", count=2)
        time.sleep(0.3)
        for i, name in enumerate(names):
            marks = [e[1] for e in clients.events(name) if e[0] == "mark"]
            assert marks.count("not news") == (0 if i % 2 == 0 else 1), (name, marks)
    finally:
        clients.close()
        proc.stop()
    assert not list(ipc_dir.glob("*.sock"))  # the supervisor leaves no socket behind


def test_v06_sessions_of_two_workers_on_one_keepalive_connection(cluster: Cluster) -> None:
    """Socket.IO 0.6 ids name their worker too: messages posted to two 0.6
    sessions of different workers over one connection all reach them (an
    unknown session would get 404)."""
    port = cluster.proc.port
    sids: dict[int | None, str] = {}
    for _ in range(200):  # until the kernel gave connections to two workers
        body = _request(port, "GET", f"/socket.io/xhr-polling//{int(time.time() * 1000)}")
        found = re.match(rb"~m~\d+~m~(\d+)", body)
        assert found is not None, body
        sid = found.group(1).decode()
        sids.setdefault(sessionids.owner_digits(sid), sid)
        if len(sids) >= 2:
            break
        time.sleep(0.01)
    assert len(sids) >= 2, "every 0.6 session landed on one worker"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.connect()
    sock = conn.sock
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for round_ in range(4):
        for sid in list(sids.values())[:2]:
            payload = f"~m~7~m~hello {round_}"
            body = "data=" + urllib.parse.quote(payload)
            conn.request("POST", f"/socket.io/xhr-polling/{sid}/send", body=body, headers=headers)
            response = conn.getresponse()
            assert (response.status, response.read()) == (200, b"ok"), sid
    assert conn.sock is sock
    conn.close()


def test_v09_htmlfile_stream_reaches_its_worker(cluster: Cluster) -> None:
    """A 0.9 htmlfile GET (a stream that keeps its connection) for another
    worker's session, on a keep-alive connection another worker accepted,
    is handed over with the connection: the stream opens with the session's
    connect packet."""
    port = cluster.proc.port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/socket.io/1/?t=1")
    response = conn.getresponse()
    mine = response.read().decode().split(":")[0]  # a session of the accepting worker
    assert response.status == 200, mine
    accepting = sessionids.owner(mine)
    other = None
    for _ in range(200):  # a session of another worker, from a fresh connection
        sid = _request(port, "GET", "/socket.io/1/?t=2").decode().split(":")[0]
        if sessionids.owner(sid) != accepting:
            other = sid
            break
        time.sleep(0.01)
    assert other is not None, "every handshake landed on one worker"
    conn.request("GET", f"/socket.io/1/htmlfile/{other}?t=3")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Transfer-Encoding") == "chunked"
    seen = b""
    deadline = time.monotonic() + 10
    while b"1::" not in seen and time.monotonic() < deadline:
        line = response.fp.readline()  # a chunk's size line, then the chunk
        if not line:
            break
        size = int(line.strip() or b"0", 16)
        seen += response.fp.read(size + 2)
    assert b"1::" in seen, seen
    conn.close()


# -- the workers on a Redis adapter -----------------------------------------------------------


def test_workers_on_a_redis_adapter(redis_server: RedisServer, tmp_path: Path) -> None:
    """``--adapter redis://...``: the workers join a Redis cluster instead of
    the IPC adapter; requests are routed between them the same way."""
    port = free_port()
    args = [sys.executable, str(APP), "--port", str(port), "--name", "rd"]
    args += ["--workers", str(WORKERS), "--adapter", redis_server.url]
    proc = Process("rd", args, port, tmp_path / "rd.log")
    clients = Clients("workers_clients.js", tmp_path / "clients.log")
    names = [f"d{i}" for i in range(8)]
    try:
        proc.wait_ready()
        wait_linked(proc, WORKERS * (WORKERS - 1))
        for i, name in enumerate(names):
            kind, transports = (
                ("v09", ["xhr-polling"]) if i % 4 == 3 else ("v4", ["polling", "websocket"])
            )
            clients.request("connect", name=name, url=proc.url, kind=kind, transports=transports)
            assert "red" in clients.emit(name, "join", "red")
        counts: list[int] = []

        def subscribed() -> bool:
            counts[:] = [clients.emit(n, "server_count") for n in names]
            return all(c == WORKERS for c in counts)

        try:
            wait_until(subscribed, 15, "every worker subscribed")
        except AssertionError as exc:
            raise AssertionError(f"{exc}: {counts}") from None
        token = secrets.token_hex(4)
        assert clients.emit(names[0], "emit_to", ["red"], [], "hey", token) is True
        for name in names:
            clients.request("wait", name=name, event="hey", count=1)
        time.sleep(0.3)
        for name in names:
            got = [e for e in clients.events(name) if e[0] == "hey" and e[1] == token]
            assert len(got) == 1, (name, got)
        sockets = clients.request("call", name=names[1], event="fetch", args=["red"])
        assert len(sockets) == len(names)
    finally:
        clients.close()
        proc.stop()


# -- a worker that hangs -------------------------------------------------------------------------


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_a_request_forwarded_to_a_hung_worker_gets_503(runtime: str, tmp_path: Path) -> None:
    """A worker stopped (SIGSTOP) with a session: a poll for that session
    read by the other worker is forwarded, and after the forward timeout
    (ping interval 1 s + ping timeout 2 s + 5 s) answered 503, not held for
    ever; the stopped worker, resumed, drops it and the cluster serves on."""
    port = free_port()
    args = [sys.executable, str(APP), "--port", str(port), "--name", "hung"]
    args += ["--workers", "2", "--runtime", runtime]
    proc = Process("hung", args, port, tmp_path / "hung.log")
    try:
        proc.wait_ready()
        wait_linked(proc, 2)
        # two keep-alive connections, one read by each worker (a handshake on
        # each says which); each holds the session the other's worker made
        path = "/socket.io/?EIO=4&transport=polling"
        conns: dict[int, tuple[http.client.HTTPConnection, str]] = {}
        for _ in range(200):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=40)
            conn.request("GET", path)
            body = conn.getresponse().read()
            sid = json.loads(body[1:])["sid"]
            owner = sessionids.owner(sid)
            assert owner in (0, 1)
            if owner in conns:
                conn.close()
            else:
                conns[owner] = (conn, sid)
            if len(conns) == 2:
                break
        assert sorted(conns) == [0, 1]
        # stop worker 0; worker 1 reads a poll for one of worker 0's sessions
        stopped = worker_pids(proc)[0]
        conn, sid = conns[1][0], conns[0][1]
        os.kill(stopped, signal.SIGSTOP)
        try:
            started = time.monotonic()
            conn.request("GET", f"{path}&sid={sid}")
            response = conn.getresponse()
            response.read()
            waited = time.monotonic() - started
        finally:
            os.kill(stopped, signal.SIGCONT)
            for c, _ in conns.values():
                c.close()
        assert response.status == 503
        assert 7.0 <= waited < 30.0, waited
        wait_until(lambda: "did not answer a forwarded request" in proc.log(), 10, "the warning")
        # both workers serve new sessions again
        owners = set()
        for _ in range(200):
            new = _eio_session(port)
            owners.add(sessionids.owner(new))
            _request(port, "POST", f"/socket.io/?EIO=4&transport=polling&sid={new}", b"40")
            if owners == {0, 1}:
                break
        assert owners == {0, 1}
        assert proc.proc.poll() is None
        assert "Traceback" not in proc.log()
    finally:
        proc.stop()
