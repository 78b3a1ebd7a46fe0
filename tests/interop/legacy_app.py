"""The hubbub server the Socket.IO 0.9 interop tests drive (tests/js/sio_client09.js).

One ``hubbub.Namespace`` class serves "/" (the 0.9 main namespace, "" on the
wire) and "/chat", for 0.9 clients and 4.x clients alike; "/secret" refuses
every connection. Heartbeats are short (interval ``--ping-interval``,
timeout ``--ping-interval + --ping-timeout``) and long polls are closed
after ``--polling-duration`` seconds, so a test outlives several of both.

Events (the contract of sio_client09.js's header):

* on connect: 'welcome' {sid, nsp, query};
* ``echo(*args)``: acks its arguments; ``ping_me(*args)``: emits 'pong_you'(*args);
* a message: the str ``x`` is answered by the message ``"echo:" + x``, any
  other value ``v`` by the json message ``{"echo": v}``;
* ``ask(value)``: emits 'question'(value) with a callback that emits
  'answer'([every value of the client's ack]); ``ask_message(text)`` the
  same with the message ``text``;
* ``join(room)`` acks True; ``to_room(room, payload)`` emits
  'room_message'(payload, sid) to the room but the sender, ``to_all`` to all of it;
* ``kick_me()``: the server disconnects the socket;
* ``disconnect_reason(nsp, sid)``: acks the server's reason for that socket, or None.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import hubbub

DISCONNECTS: dict[tuple[str, str], str] = {}  # (namespace, sid) -> the server's reason


class Legacy(hubbub.Namespace):
    """The same class for every generation of client and every namespace."""

    def on_connect(self, auth: Any) -> None:
        welcome = {"sid": self.sid, "nsp": self.namespace.name, "query": self.handshake.query}
        self.emit("welcome", welcome)  # goes out right after the connect packet

    def on_disconnect(self, reason: str) -> None:
        DISCONNECTS[(self.namespace.name, self.sid)] = reason

    def on_echo(self, *args: Any) -> tuple[Any, ...]:
        return args

    def on_ping_me(self, *args: Any) -> None:
        self.emit("pong_you", *args)

    def on_message(self, data: Any) -> None:
        if isinstance(data, str):
            self.send("echo:" + data)
        else:
            self.send({"echo": data})

    def on_ask(self, value: Any) -> None:
        def answered(*values: Any) -> None:
            self.emit("answer", list(values))

        self.emit("question", value, callback=answered)

    def on_ask_message(self, text: str) -> None:
        def answered(*values: Any) -> None:
            self.emit("answer", list(values))

        self.send(text, callback=answered)

    def on_join(self, room: str) -> bool:
        self.join(room)
        return True

    def on_to_room(self, room: str, payload: Any) -> bool:
        self.to(room).emit("room_message", payload, self.sid)
        return True

    def on_to_all(self, room: str, payload: Any) -> bool:
        self.namespace.to(room).emit("room_message", payload, self.sid)
        return True

    def on_kick_me(self) -> None:
        self.disconnect()

    def on_disconnect_reason(self, nsp: str, sid: str) -> str | None:
        return DISCONNECTS.get((nsp, sid))


class Secret(hubbub.Namespace):
    def on_connect(self, auth: Any) -> None:
        raise hubbub.ConnectionRefusedError("unauthorized")


def build(
    ping_interval: float = 0.5, ping_timeout: float = 0.5, polling_duration: float = 1.0
) -> hubbub.Server:
    sio = hubbub.Server(
        legacy=True,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        polling_duration=polling_duration,
        close_timeout=5.0,
        cors_allowed_origins="*",
    )
    sio.register("/", Legacy)
    sio.register("/chat", Legacy)
    sio.register("/secret", Secret)
    return sio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--asgi", action="store_true", help="serve hubbub.ASGIApp on uvicorn")
    parser.add_argument("--runtime", choices=["asyncio", "gevent"], default="asyncio")
    parser.add_argument("--ping-interval", type=float, default=0.5)
    parser.add_argument("--ping-timeout", type=float, default=0.5)
    parser.add_argument("--polling-duration", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sio = build(args.ping_interval, args.ping_timeout, args.polling_duration)
    if args.runtime == "gevent":
        hubbub.run(sio, args.host, args.port, runtime="gevent")
    elif args.asgi:
        import uvicorn

        uvicorn.run(hubbub.ASGIApp(sio), host=args.host, port=args.port, log_level="warning")
    else:
        hubbub.run(sio, args.host, args.port)


if __name__ == "__main__":
    main()
