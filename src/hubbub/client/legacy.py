"""The client side of a Socket.IO 0.9 session, sans-IO.

0.9 has no Engine.IO: the client handshakes with ``GET /<resource>/1/``
(answered ``sid:heartbeat:close:transports``), then opens a websocket at
``/<resource>/1/websocket/<sid>`` or long-polls ``/<resource>/1/xhr-polling/<sid>``
and speaks 0.9 packets there. This link maps them onto the Socket.IO
packets the client core speaks for every generation:

* ``1::/chat`` connects a namespace (the main one, "", is connected by the
  server at once); ``7::/chat:2+0`` (unauthorized) refuses it;
* an event ``5:3+::{"name":..,"args":[..]}`` is an EVENT with ack id 3 (a
  plain id ``5:3::`` is acknowledged here, at once, as 0.9 clients do);
  message and JSON packets are the event "message";
* ``6:::3+[..]`` is the ACK of id 3; ``0::/chat`` a DISCONNECT;
* heartbeats (``2::``) are echoed; past the heartbeat timeout without one
  the session is lost ("ping timeout").
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from hubbub.client.engine import ConnectFailed, LinkListener, Target
from hubbub.legacy.v09.codec import (
    LegacyDecodeError,
    LegacyPacket,
    LegacyType,
    decode_packet,
    decode_payload,
    encode_packet,
    encode_payload,
)
from hubbub.runtime.contract import ClientDriver, ClientResponse, ClientSocket, TimerHandle
from hubbub.socketio.codec import Packet, PacketType

log = logging.getLogger("hubbub.client")

__all__ = ["LegacyClient"]


def _endpoint(nsp: str) -> str:
    return "" if nsp == "/" else nsp


def _nsp(endpoint: str) -> str:
    return endpoint or "/"


class LegacyClient:
    """One Socket.IO 0.9 session (websocket or xhr-polling)."""

    def __init__(self, driver: ClientDriver, listener: LinkListener, target: Target,
                 transports: list[str], timeout: float = 20.0) -> None:
        self.driver = driver
        self.listener = listener
        self.target = target
        self.transports = transports
        self.timeout = timeout
        self.state = "new"
        self.sid = ""
        self.transport = ""
        self.heartbeat_timeout = 60.0
        self._socket: ClientSocket | None = None
        self._polling: TimerHandle | None = None
        self._posting: TimerHandle | None = None
        self._queue: list[str] = []
        self._watchdog: TimerHandle | None = None
        self._root = False  # the server connected the main endpoint
        self._done: Callable[[], None] | None = None  # told when our close is over
        self._root_asked = False

    # -- opening -----------------------------------------------------------------------

    def open(self) -> None:
        self.state = "opening"
        url = self._url("", {"t": secrets.token_urlsafe(6)})
        self.driver.http("GET", url, self.target.request_headers(), b"", self.timeout,
                         self._handshake_answer)

    def _url(self, tail: str, params: dict[str, str], websocket: bool = False) -> str:
        path = self.target.path + "1/" + tail
        return self.target.address(websocket, params, path)

    def _handshake_answer(self, answer: ClientResponse | str) -> None:
        if self.state != "opening":
            return
        if isinstance(answer, str):
            self._fail(ConnectFailed(f"connection failed: {answer}"))
            return
        self.target.took(answer.headers)
        text = answer.body.decode("utf-8", "replace")
        if answer.status != 200:
            self._fail(ConnectFailed(text or f"HTTP {answer.status}", text or None))
            return
        parts = text.split(":")
        if len(parts) < 4 or not parts[0]:
            self._fail(ConnectFailed(f"malformed 0.9 handshake {text[:80]!r}"))
            return
        self.sid = parts[0]
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses
        if parts[1].isascii() and parts[1].isdigit() and int(parts[1]):
            self.heartbeat_timeout = float(parts[1])
        offered = parts[3].split(",")
        for name in self.transports:
            wanted = "xhr-polling" if name == "polling" else name
            if wanted in offered:
                self.transport = wanted
                break
        else:
            self._fail(ConnectFailed(f"no common transport (the server offers {parts[3]})"))
            return
        if self.transport == "websocket":
            self._socket = self.driver.websocket(
                self._url(f"websocket/{self.sid}", {}, websocket=True),
                self.target.request_headers(), self, self.timeout,
            )
        else:
            self._poll()
        self._watch()

    def _fail(self, error: ConnectFailed) -> None:
        self._shutdown()
        self.listener.link_failed(error)

    def _watch(self) -> None:
        """The session is lost after the heartbeat timeout without a word
        from the server. The server sends heartbeats well within it, and
        answers a held poll within its polling duration (shorter still), so
        only a server that is gone (or a network that dropped without a
        reset) stays silent that long."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self.state in ("opening", "open"):
            self._watchdog = self.driver.runtime.call_later(self.heartbeat_timeout, self._silent)

    def _silent(self) -> None:
        self._watchdog = None
        if self.state == "opening":
            self._fail(ConnectFailed("no answer from the server"))
        else:
            self._lost("ping timeout")

    # -- websocket (a ClientSocketListener) ---------------------------------------------

    def ws_opened(self, headers: list[tuple[str, str]]) -> None:
        self.target.took(headers)

    def ws_message(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            data = data.decode("utf-8", "replace")
        self._receive(data)

    def ws_closed(self, error: str | None) -> None:
        if self.state == "closed":
            return  # a socket we closed ourselves
        self._socket = None
        if self.state == "opening":
            self._fail(ConnectFailed(f"websocket failed: {error or 'closed'}"))
        else:
            self._lost("transport error" if error else "transport close")

    # -- polling ---------------------------------------------------------------------------

    def _poll_url(self) -> str:
        return self._url(f"xhr-polling/{self.sid}", {"t": secrets.token_urlsafe(6)})

    def _poll(self) -> None:
        if self.state in ("opening", "open") and self.transport == "xhr-polling":
            self._polling = self.driver.http(
                "GET", self._poll_url(), self.target.request_headers(), b"", None,
                self._poll_answer,
            )

    def _poll_answer(self, answer: ClientResponse | str) -> None:
        self._polling = None
        if self.state == "closed":
            return
        if isinstance(answer, str) or answer.status != 200:
            if self.state == "opening":
                self._fail(ConnectFailed("polling failed"))
            else:
                self._lost("transport error")
            return
        self.target.took(answer.headers)
        self._receive(answer.body.decode("utf-8", "replace"))
        self._poll()

    def _post(self) -> None:
        if self._posting is not None or not self._queue or self.state == "closed":
            return
        body = encode_payload(self._queue).encode("utf-8")
        self._queue = []
        headers = [*self.target.request_headers(), ("Content-Type", "text/plain;charset=UTF-8")]
        if self.state == "closing":
            headers.append(("Connection", "close"))  # the session's last request
        self._posting = self.driver.http(
            "POST", self._poll_url(), headers, body, self.timeout, self._post_answer
        )

    def _post_answer(self, answer: ClientResponse | str) -> None:
        self._posting = None
        if self.state == "closed":
            return
        if isinstance(answer, str) or answer.status != 200:
            self._lost("transport error")
            return
        self._post()
        if self.state == "closing" and self._posting is None:
            self._shutdown()  # everything went out

    # -- packets ---------------------------------------------------------------------------

    def _receive(self, text: str) -> None:
        self._watch()
        try:
            messages = decode_payload(text)
        except LegacyDecodeError as exc:
            log.warning("bad 0.9 payload from the server (%s)", exc)
            self._lost("transport error")
            return
        for message in messages:
            if self.state == "closed":
                return
            try:
                packet = decode_packet(message)
            except LegacyDecodeError as exc:
                log.warning("bad 0.9 packet from the server (%s)", exc)
                continue
            self._packet(packet)

    def _packet(self, packet: LegacyPacket) -> None:
        ptype = packet.type
        nsp = _nsp(packet.endpoint)
        if ptype is LegacyType.HEARTBEAT:
            self._write(encode_packet(LegacyPacket(LegacyType.HEARTBEAT)))
            return
        if ptype is LegacyType.CONNECT:
            if nsp == "/":
                if self.state == "opening":
                    self.state = "open"
                    self.listener.link_open(self.sid)
                self._root = True
                if self._root_asked:
                    self._connected("/")
            else:
                self._connected(nsp)
            return
        if self.state != "open":
            return
        if ptype is LegacyType.DISCONNECT:
            if nsp == "/":
                self._shutdown()
                self.listener.link_closed("io server disconnect")
            else:
                self.listener.link_packet(Packet(PacketType.DISCONNECT, nsp))
        elif ptype in (LegacyType.EVENT, LegacyType.MESSAGE, LegacyType.JSON):
            if ptype is LegacyType.EVENT:
                data = [packet.name, *packet.args]
            else:
                data = ["message", packet.data]
            ack_id = packet.id if packet.ack == "data" else None
            if packet.id is not None and packet.ack is True:
                ack = LegacyPacket(LegacyType.ACK, packet.endpoint, ack_id=packet.id)
                self._write(encode_packet(ack))
            self.listener.link_packet(Packet(PacketType.EVENT, nsp, data, ack_id))
        elif ptype is LegacyType.ACK:
            self.listener.link_packet(Packet(PacketType.ACK, nsp, packet.args, packet.ack_id))
        elif ptype is LegacyType.ERROR:
            if nsp == "/" and packet.advice == "reconnect":
                self._lost("transport close")
            else:
                self.listener.link_packet(
                    Packet(PacketType.CONNECT_ERROR, nsp, {"message": packet.reason})
                )

    def _connected(self, nsp: str) -> None:
        self.listener.link_packet(Packet(PacketType.CONNECT, nsp, {"sid": self.sid}))

    @property
    def writable(self) -> bool:
        return self.state == "open" and (
            self._socket is not None if self.transport == "websocket" else self._posting is None
        )

    def send(self, packet: Packet) -> None:
        """Send one Socket.IO packet in its 0.9 form."""
        ptype = packet.type
        endpoint = _endpoint(packet.nsp)
        data: Any = packet.data
        if ptype is PacketType.CONNECT:
            if endpoint == "":
                self._root_asked = True
                if self._root:
                    self._connected("/")
                return
            query = urlencode(data) if isinstance(data, dict) else ""
            # Node 0.9's form, "1::/chat:?q=1" (its parser takes "?q" in the
            # endpoint as part of the name); hubbub and gevent-socketio read both
            self._write(f"1::{endpoint}:?{query}" if query else f"1::{endpoint}")
            return
        elif ptype is PacketType.DISCONNECT:
            legacy = LegacyPacket(LegacyType.DISCONNECT, endpoint)
        elif ptype in (PacketType.EVENT, PacketType.BINARY_EVENT):
            legacy = LegacyPacket(
                LegacyType.EVENT, endpoint, id=packet.id,
                ack="data" if packet.id is not None else None,
                name=str(data[0]), args=list(data[1:]),
            )
        elif ptype in (PacketType.ACK, PacketType.BINARY_ACK):
            legacy = LegacyPacket(LegacyType.ACK, endpoint, ack_id=packet.id, args=list(data))
        else:
            return
        self._write(encode_packet(legacy))

    def _write(self, text: str) -> None:
        if self.transport == "websocket":
            if self._socket is not None:
                self._socket.send(text)
        else:
            self._queue.append(text)
            self._post()

    # -- closing -------------------------------------------------------------------------

    def close(self, done: Callable[[], None] | None = None) -> None:
        """Our own close: the disconnect packet after whatever is queued,
        then the transport; ``done()`` once it is over (within the request
        timeout). Nothing is reported."""
        self._done = done
        if self.state != "open":
            self._shutdown()
            return
        self._write(encode_packet(LegacyPacket(LegacyType.DISCONNECT)))
        self.state = "closing"
        if self._watchdog is not None:
            self._watchdog.cancel()
        self._watchdog = self.driver.runtime.call_later(self.timeout, self._shutdown)
        if self.transport == "websocket":
            if self._socket is not None:
                self._socket.close()  # its ws_closed ends the session
            else:
                self._shutdown()
        elif self._posting is None and not self._queue:
            self._shutdown()

    def _lost(self, reason: str) -> None:
        if self.state == "closed":
            return
        closing = self.state == "closing"
        self._shutdown()
        if not closing:
            self.listener.link_closed(reason)

    def _shutdown(self) -> None:
        self.state = "closed"
        for handle in (self._watchdog, self._polling, self._posting):
            if handle is not None:
                handle.cancel()
        self._watchdog = self._polling = self._posting = None
        socket, self._socket = self._socket, None
        if socket is not None:
            socket.close()
        done, self._done = self._done, None
        if done is not None:
            done()
