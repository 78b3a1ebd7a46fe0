"""The client side of one Engine.IO session (protocol 4 and 3), sans-IO.

It opens the session (long-polling or a websocket), keeps it alive with the
heartbeat the server's handshake asks for, upgrades from polling to a
websocket as engine.io-client 6 does (probe ``2probe``/``3probe``, wait for
the polls in flight, then ``5``), sends what the Socket.IO layer gives it
(batched in POSTs of at most ``maxPayload`` bytes while polling) and reports
to a :class:`LinkListener`: opened, each Socket.IO packet, closed with the
reason socket.io-client names ("transport close", "transport error",
"ping timeout", "forced close"...).

All of its I/O goes through the :class:`~hubbub.runtime.contract.ClientDriver`
it is given; every input arrives as a call from that driver.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import urlencode

from hubbub.client.http1 import CookieJar
from hubbub.engineio.codec import (
    EngineIODecodeError,
    Packet,
    PacketType,
    decode_packet,
    decode_payload_v3,
    decode_payload_v4,
    encode_packet,
    encode_payload_v3,
    encode_payload_v4,
)
from hubbub.runtime.contract import (
    ClientDriver,
    ClientResponse,
    ClientSocket,
    TimerHandle,
)
from hubbub.socketio.codec import Decoder, Parser, SocketIODecodeError
from hubbub.socketio.codec import Packet as SioPacket

log = logging.getLogger("hubbub.client")

__all__ = ["ConnectFailed", "EngineClient", "LinkListener", "Target"]


class ConnectFailed(Exception):
    """The session could not be opened; ``data`` is what the server said
    (its JSON error body), if anything."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.data = data


class LinkListener(Protocol):
    """What a client session (Engine.IO or 0.9) reports to."""

    def link_open(self, sid: str) -> None: ...
    def link_packet(self, packet: SioPacket) -> None: ...
    def link_failed(self, error: ConnectFailed) -> None:
        """The session never opened."""
        ...

    def link_closed(self, reason: str) -> None:
        """An open session ended (not after the listener's own close)."""
        ...


class Target:
    """Where a client connects: the server's base URL (scheme, host, port),
    the Engine.IO path, the query parameters and headers of every request."""

    def __init__(self, url: str, path: str, query: dict[str, str],
                 headers: list[tuple[str, str]], cookies: CookieJar) -> None:
        self.url = url.rstrip("/")
        self.path = "/" + path.strip("/") + "/"
        self.query = query
        self.headers = headers
        self.cookies = cookies

    def address(self, websocket: bool, params: dict[str, str], path: str | None = None) -> str:
        base = self.url
        if websocket:
            base = "ws" + base[4:] if base.startswith("http") else base
        elif base.startswith("ws"):
            base = "http" + base[2:]
        merged = dict(params)  # the protocol's own parameters first, as Node writes them
        for key, value in self.query.items():
            merged.setdefault(key, value)
        query = urlencode(merged)
        return f"{base}{path or self.path}?{query}"

    def request_headers(self) -> list[tuple[str, str]]:
        cookie = self.cookies.header()
        return [*self.headers, ("Cookie", cookie)] if cookie else list(self.headers)

    def took(self, headers: list[tuple[str, str]]) -> None:
        self.cookies.take([v for k, v in headers if k == "set-cookie"])


def error_data(body: bytes) -> Any:
    """What a refused request's body says (Engine.IO's ``{"code", "message"}``)."""
    try:
        return json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return body.decode("utf-8", "replace") or None


class _Wire:
    """One websocket of the session (a ClientSocketListener): the one carrying
    it, or the probe of an upgrade, which becomes the carrier once probed."""

    def __init__(self, engine: EngineClient) -> None:
        self.engine = engine
        self.socket: ClientSocket | None = None
        self.probed = False

    def ws_opened(self, headers: list[tuple[str, str]]) -> None:
        engine = self.engine
        engine.target.took(headers)
        if engine._probe is self and self.socket is not None:
            self.socket.send(encode_packet(Packet(PacketType.PING, "probe"), engine.eio))

    def ws_message(self, data: str | bytes) -> None:
        engine = self.engine
        if engine._probe is self:
            engine._probe_message(self, data)
        elif engine._live is self:
            engine._ws_message(data)

    def ws_closed(self, error: str | None) -> None:
        engine = self.engine
        if engine._probe is self:
            engine._probe_closed()
        elif engine._live is self:
            engine._ws_closed(error)


class EngineClient:
    """One Engine.IO session, from its handshake to its end."""

    def __init__(
        self,
        driver: ClientDriver,
        listener: LinkListener,
        target: Target,
        eio: int,
        parser: Parser,
        transports: list[str],
        upgrade: bool = True,
        timeout: float = 20.0,
    ) -> None:
        self.driver = driver
        self.listener = listener
        self.target = target
        self.eio = eio
        self.parser = parser
        self.decoder: Decoder = parser.decoder()
        self.transports = transports
        self.upgrade = upgrade
        self.timeout = timeout
        self.state = "new"  # new, opening, open, closing (our close, draining), closed
        self.transport = transports[0]
        self.sid = ""
        self.ping_interval = 25.0
        self.ping_timeout = 20.0
        self.max_payload = 1_000_000
        self._queue: list[Packet] = []  # waiting for a POST (or the upgrade)
        self._polling: TimerHandle | None = None
        self._posting: TimerHandle | None = None
        self._upgrades: list[str] = []
        self._live: _Wire | None = None  # the websocket carrying the session
        self._probe: _Wire | None = None
        self._upgrading = False  # probed: waiting for the polls in flight
        self._heartbeat: TimerHandle | None = None
        self._pong_due: TimerHandle | None = None
        self._closing: TimerHandle | None = None
        self._done: Callable[[], None] | None = None  # told when our close is over

    # -- opening -----------------------------------------------------------------------

    def open(self) -> None:
        self.state = "opening"
        if self.transport == "websocket":
            live = self._live = _Wire(self)
            live.socket = self.driver.websocket(
                self._ws_url(), self.target.request_headers(), live, self.timeout
            )
        else:
            self.driver.http(
                "GET", self._poll_url(), self.target.request_headers(), b"",
                self.timeout, self._handshake_answer,
            )

    def _poll_url(self) -> str:
        params = {"EIO": str(self.eio), "transport": "polling", "t": secrets.token_urlsafe(6)}
        if self.sid:
            params["sid"] = self.sid
        return self.target.address(False, params)

    def _ws_url(self) -> str:
        params = {"EIO": str(self.eio), "transport": "websocket"}
        if self.sid:
            params["sid"] = self.sid
        return self.target.address(True, params)

    def _handshake_answer(self, answer: ClientResponse | str) -> None:
        if self.state != "opening":
            return
        if isinstance(answer, str):
            self._fail(ConnectFailed(f"connection failed: {answer}"))
            return
        self.target.took(answer.headers)
        if answer.status != 200:
            self._fail(ConnectFailed(f"HTTP {answer.status}", error_data(answer.body)))
            return
        try:
            packets = self._decode_payload(answer.body)
        except EngineIODecodeError as exc:
            self._fail(ConnectFailed(f"malformed handshake: {exc}"))
            return
        if not packets or packets[0].type is not PacketType.OPEN:
            self._fail(ConnectFailed("the server's first packet is not OPEN"))
            return
        if self._opened(packets[0]):
            self._handle_packets(packets[1:])
            self._poll()
            self._try_upgrade()

    def _opened(self, packet: Packet) -> bool:
        try:
            info = json.loads(packet.data)
            self.sid = str(info["sid"])
            upgrades = list(info.get("upgrades") or ())
            self.ping_interval = float(info.get("pingInterval", 25000)) / 1000
            self.ping_timeout = float(info.get("pingTimeout", 20000)) / 1000
            self.max_payload = int(info.get("maxPayload") or 1_000_000)
        except (ValueError, KeyError, TypeError):
            self._fail(ConnectFailed("malformed OPEN packet"))
            return False
        self._upgrades = upgrades
        self.state = "open"
        self._beat()
        self.listener.link_open(self.sid)
        return self.state == "open"

    def _try_upgrade(self) -> None:
        if (
            self.state != "open" or self.transport != "polling" or not self.upgrade
            or "websocket" not in self._upgrades or "websocket" not in self.transports
        ):
            return
        probe = self._probe = _Wire(self)
        probe.socket = self.driver.websocket(
            self._ws_url(), self.target.request_headers(), probe, self.timeout
        )

    def _fail(self, error: ConnectFailed) -> None:
        self._shutdown()
        self.listener.link_failed(error)

    # -- heartbeats ----------------------------------------------------------------------

    def _beat(self) -> None:
        """v4: the server pings; its silence past interval + timeout ends the
        session. v3: we ping every interval and want a pong within timeout."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
        runtime = self.driver.runtime
        if self.eio == 4:
            self._heartbeat = runtime.call_later(
                self.ping_interval + self.ping_timeout, self._ping_timed_out
            )
        else:
            self._heartbeat = runtime.call_later(self.ping_interval, self._ping_v3)

    def _ping_v3(self) -> None:
        if self.state != "open":
            return
        self._send_packets([Packet(PacketType.PING)])
        self._pong_due = self.driver.runtime.call_later(self.ping_timeout, self._ping_timed_out)
        self._heartbeat = self.driver.runtime.call_later(self.ping_interval, self._ping_v3)

    def _ping_timed_out(self) -> None:
        if self.state == "open":
            self._lost("ping timeout")

    # -- receiving -------------------------------------------------------------------------

    def _decode_payload(self, body: bytes) -> list[Packet]:
        if self.eio == 4:
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise EngineIODecodeError("payload is not UTF-8") from exc
            return decode_payload_v4(text)
        return decode_payload_v3(body)

    def _handle_packets(self, packets: list[Packet]) -> None:
        for packet in packets:
            if self.state != "open":
                return
            ptype = packet.type
            if ptype is PacketType.MESSAGE:
                self._message(packet.data)
            elif ptype is PacketType.PING:
                if self.eio == 4:
                    self._beat()
                    self._send_packets([Packet(PacketType.PONG, packet.data)])
            elif ptype is PacketType.PONG:
                if self._pong_due is not None:
                    self._pong_due.cancel()
                    self._pong_due = None
            elif ptype is PacketType.CLOSE:
                self._lost("transport close")
            # NOOP, and OPEN/UPGRADE out of place, are ignored

    def _message(self, data: str | bytes) -> None:
        try:
            packet = self.decoder.feed(data)
        except SocketIODecodeError as exc:
            log.warning("bad packet from the server (%s): closing", exc)
            self._lost("parse error")
            return
        if packet is not None:
            self.listener.link_packet(packet)

    # -- polling ---------------------------------------------------------------------------

    def _poll(self) -> None:
        if self.state != "open" or self.transport != "polling" or self._upgrading:
            return
        self._polling = self.driver.http(
            "GET", self._poll_url(), self.target.request_headers(), b"", None, self._poll_answer
        )

    def _poll_answer(self, answer: ClientResponse | str) -> None:
        self._polling = None
        if self.state != "open" or self.transport != "polling":
            return
        if isinstance(answer, str) or answer.status != 200:
            self._lost("transport error")
            return
        self.target.took(answer.headers)
        try:
            packets = self._decode_payload(answer.body)
        except EngineIODecodeError as exc:
            log.warning("bad payload from the server (%s): closing", exc)
            self._lost("transport error")
            return
        self._handle_packets(packets)
        if self._upgrading:
            self._finish_upgrade()
        else:
            self._poll()

    def _post(self) -> None:
        if self._posting is not None or not self._queue or self.transport != "polling":
            return
        batch: list[Packet] = []
        size = 0
        while self._queue:
            packet = self._queue[0]
            # the base64 and framing overhead, counted generously
            data = packet.data
            cost = (len(data) * 4 // 3 if isinstance(data, bytes) else len(data.encode())) + 16
            if batch and size + cost > self.max_payload:
                break
            batch.append(self._queue.pop(0))
            size += cost
        if self.eio == 4:
            body = encode_payload_v4(batch).encode("utf-8")
        else:
            payload = encode_payload_v3(batch, supports_binary=False)
            body = payload.encode("utf-8") if isinstance(payload, str) else payload
        headers = [*self.target.request_headers(), ("Content-Type", "text/plain;charset=UTF-8")]
        if self.state == "closing" and not self._queue:
            headers.append(("Connection", "close"))  # the session's last request
        self._posting = self.driver.http(
            "POST", self._poll_url(), headers, body, self.timeout, self._post_answer
        )

    def _post_answer(self, answer: ClientResponse | str) -> None:
        self._posting = None
        if self.state == "closing":
            if self._queue and not isinstance(answer, str) and answer.status == 200:
                self._post()
            else:
                self._shutdown()
            return
        if self.state != "open":
            return
        if isinstance(answer, str) or answer.status != 200:
            self._lost("transport error")
            return
        self.target.took(answer.headers)
        if self._upgrading:
            self._finish_upgrade()
        else:
            self._post()

    # -- the websocket -----------------------------------------------------------------

    def _ws_message(self, data: str | bytes) -> None:
        try:
            packet = decode_packet(data, self.eio)
        except EngineIODecodeError as exc:
            log.warning("bad packet from the server (%s): closing", exc)
            self._lost("transport error")
            return
        if self.state == "opening":
            if packet.type is not PacketType.OPEN:
                self._fail(ConnectFailed("the server's first packet is not OPEN"))
            else:
                self._opened(packet)
            return
        self._handle_packets([packet])

    def _ws_closed(self, error: str | None) -> None:
        self._live = None
        if self.state == "opening":
            self._fail(ConnectFailed(f"websocket failed: {error or 'closed'}"))
        elif self.state == "open":
            self._lost("transport error" if error else "transport close")
        elif self.state == "closing":
            self._shutdown()  # our close went out

    def _probe_message(self, probe: _Wire, data: str | bytes) -> None:
        if self.state != "open":
            return
        if data == "3probe" and not probe.probed:
            probe.probed = True
            self._upgrading = True
            self._finish_upgrade()
            return
        self._drop_probe()

    def _probe_closed(self) -> None:
        """The probe failed: the session stays on polling, and what waited
        for the switch goes in a POST."""
        self._probe = None
        self._upgrading = False
        if self.state == "open" and self.transport == "polling":
            if self._polling is None:
                self._poll()
            self._post()

    def _drop_probe(self) -> None:
        probe, self._probe = self._probe, None
        self._upgrading = False
        if probe is not None and probe.socket is not None:
            probe.socket.close()
        self._poll()

    def _finish_upgrade(self) -> None:
        """Switch once nothing is in flight on polling any more."""
        probe = self._probe
        if self._polling is not None or self._posting is not None or probe is None:
            return
        assert probe.socket is not None
        self._probe = None
        self._upgrading = False
        self._live = probe
        self.transport = "websocket"
        probe.socket.send(encode_packet(Packet(PacketType.UPGRADE), self.eio))
        queued, self._queue = self._queue, []
        self._send_packets(queued)

    # -- sending -----------------------------------------------------------------------------

    def send(self, packet: SioPacket) -> None:
        """Send one Socket.IO packet (queued while polling or upgrading)."""
        self._send_packets([Packet(PacketType.MESSAGE, m) for m in self.parser.encode(packet)])

    @property
    def writable(self) -> bool:
        """Whether a packet sent now goes out at once (volatile emits need it)."""
        if self.state != "open":
            return False
        if self.transport == "websocket":
            return self._live is not None
        return self._posting is None and not self._upgrading

    def _send_packets(self, packets: list[Packet]) -> None:
        if self.transport == "websocket" and not self._upgrading:
            ws = self._live.socket if self._live is not None else None
            if ws is None:
                return
            for packet in packets:
                ws.send(encode_packet(packet, self.eio))
            return
        self._queue.extend(packets)
        if not self._upgrading:
            self._post()

    # -- closing -----------------------------------------------------------------------------

    def close(self, done: Callable[[], None] | None = None) -> None:
        """Our own close, as engine.io-client does it: what is queued goes
        first (the Socket.IO DISCONNECTs the client just sent, say), then
        the close packet, then the transport; ``done()`` once all of it is
        over (within the request timeout). Nothing is reported."""
        self._done = done
        if self.state != "open":
            self._shutdown()
            return
        self.state = "closing"
        for handle in (self._heartbeat, self._pong_due):
            if handle is not None:
                handle.cancel()
        self._heartbeat = self._pong_due = None
        # bounded: a server that never answers does not keep it open
        self._closing = self.driver.runtime.call_later(self.timeout, self._shutdown)
        ws = self._live.socket if self._live is not None else None
        if self.transport == "websocket" and ws is not None and not self._upgrading:
            ws.send(encode_packet(Packet(PacketType.CLOSE), self.eio))
            ws.close()  # its ws_closed ends the session
            return
        # polling (or in the middle of an upgrade, which is given up): the
        # queue and the close packet in POSTs after the one in flight; the
        # held GET is left for the server to answer
        self.transport = "polling"
        probe, self._probe = self._probe, None
        self._upgrading = False
        if probe is not None and probe.socket is not None:
            probe.socket.close()
        self._queue.append(Packet(PacketType.CLOSE))
        self._post()

    def _lost(self, reason: str) -> None:
        if self.state == "closed":
            return
        closing = self.state == "closing"
        self._shutdown()
        if not closing:
            self.listener.link_closed(reason)

    def _shutdown(self) -> None:
        self.state = "closed"
        for handle in (self._heartbeat, self._pong_due, self._polling, self._posting,
                       self._closing):
            if handle is not None:
                handle.cancel()
        self._heartbeat = self._pong_due = self._polling = self._posting = None
        self._closing = None
        live, self._live = self._live, None
        if live is not None and live.socket is not None:
            live.socket.close()
        if self._probe is not None and self._probe.socket is not None:
            self._probe.socket.close()
        self._probe = None
        self._queue.clear()
        done, self._done = self._done, None
        if done is not None:
            done()

