"""The sans-IO encodings of the Redis adapters and emitter (no Redis here).

Byte strings written by Node (notepack.io 3.x, @msgpack/msgpack, JSON.stringify)
are spelled out so that the formats are pinned, not just round-tripped.
"""

from __future__ import annotations

import base64
import datetime

import pytest

from hubbub.adapters.base import BroadcastFlags, BroadcastOptions
from hubbub.adapters.wire.broadcast import ClusterDecodeError, opts_from_wire, opts_to_wire
from hubbub.adapters.wire.cluster import (
    MessageType,
    decode_message,
    decode_stream_entry,
    encode_sharded,
    encode_stream_entry,
    is_ephemeral,
    next_stream_id,
    parse_stream_id,
)
from hubbub.adapters.wire.notepack import decode_any, dumps, has_binary, pack, unpack
from hubbub.adapters.wire.redis import (
    Channels,
    RequestType,
    decode_broadcast,
    decode_request,
    encode_broadcast,
    encode_request,
)
from hubbub.socketio.codec import Packet, PacketType


def test_channels_of_the_classic_adapter() -> None:
    ch = Channels.of("/chat", "abc123")
    assert ch.broadcast == "socket.io#/chat#"
    assert ch.pattern == "socket.io#/chat#*"
    assert ch.request == "socket.io-request#/chat#"
    assert ch.response == "socket.io-response#/chat#"
    assert ch.specific_response == "socket.io-response#/chat#abc123#"
    assert ch.for_rooms(frozenset({"r1"})) == "socket.io#/chat#r1#"
    assert ch.for_rooms(frozenset({"r1", "r2"})) == "socket.io#/chat#"
    assert ch.room_of("socket.io#/chat#r1#") == "r1"
    assert ch.room_of("socket.io#/chat#") == ""
    assert ch.room_of("socket.io#/other#r1#") is None


def test_broadcast_as_notepack_writes_it() -> None:
    # what @socket.io/redis-emitter 5 publishes for emitter.to("r").emit("e", 1)
    node = bytes.fromhex(
        "93a7656d6974746572"  # ["emitter",
        "83a47479706502a46461746192a16501a36e7370a12f"  # {type:2,data:["e",1],nsp:"/"},
        "83a5726f6f6d7391a172a5666c61677380a665786365707490"  # {rooms:["r"],flags:{},except:[]}]
    )
    uid, packet, opts = decode_broadcast(node, "/")
    assert uid == "emitter"
    assert packet == Packet(PacketType.EVENT, "/", ["e", 1])
    assert opts.rooms == {"r"} and opts.except_ == frozenset()
    assert unpack(encode_broadcast("emitter", packet, opts)) == unpack(node)


def test_broadcast_for_another_namespace_or_not_an_event_is_refused() -> None:
    message = pack(["u", {"type": 2, "data": ["e"], "nsp": "/a"}, {"rooms": [], "except": []}])
    with pytest.raises(ClusterDecodeError):
        decode_broadcast(message, "/")
    with pytest.raises(ClusterDecodeError):
        decode_broadcast(pack(["u", {"type": 0, "nsp": "/"}, {}]), "/")
    with pytest.raises(ClusterDecodeError):
        decode_broadcast(b"\xc1garbage", "/")


def test_a_missing_nsp_means_the_main_namespace() -> None:
    _, packet, _ = decode_broadcast(pack(["u", {"type": 2, "data": ["e"]}, {}]), "/")
    assert packet.nsp == "/"


def test_notepack_values() -> None:
    when = datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc)
    value = {"b": b"\x00\xff", "d": when, "n": None, "f": 1.5, "l": [1, "x"]}
    assert unpack(pack(value)) == value
    # notepack 2.x extension 0: undefined, Date (ms) and ArrayBuffer
    assert unpack(bytes.fromhex("92d40000d70000000000000003e8")) == [
        None,
        datetime.datetime(1970, 1, 1, 0, 0, 1, tzinfo=datetime.timezone.utc),
    ]
    # notepack 3.x: Date as the timestamp extension
    assert unpack(bytes.fromhex("d6ff00000001")) == datetime.datetime(
        1970, 1, 1, 0, 0, 1, tzinfo=datetime.timezone.utc
    )
    assert has_binary({"a": [1, {"b": b""}]}) and not has_binary({"a": [1, "b"]})
    with pytest.raises(TypeError):
        pack(datetime.datetime(2024, 1, 1))  # naive: which zone would Node assume?


def test_requests_are_json_unless_binary_or_an_ack_type() -> None:
    join = {"uid": "u", "type": RequestType.REMOTE_JOIN, "opts": {"rooms": [], "except": []}}
    assert encode_request(join).startswith(b"{")
    assert decode_request(encode_request(join)) == join
    binary = {"type": RequestType.SERVER_SIDE_EMIT, "requestId": "r", "data": b"\x01"}
    assert not encode_request(binary).startswith(b"{")
    assert decode_request(encode_request(binary)) == binary
    ack = {"type": RequestType.BROADCAST_ACK, "requestId": "r", "packet": "x"}
    assert not encode_request(ack).startswith(b"{")
    # what Node sends for io.serverSideEmit("hello", 1)
    node = b'{"uid":"QzP2w2","type":6,"data":["hello",1]}'
    assert decode_request(node) == {"uid": "QzP2w2", "type": 6, "data": ["hello", 1]}
    with pytest.raises(ClusterDecodeError):
        decode_request(b"[1,2]")
    # a request id that is not a string: malformed (an unhashable one would
    # otherwise raise in the adapters' request tables)
    for bad in (b'{"type":0,"requestId":["r"]}', b'{"type":0,"requestId":{"a":1}}',
                b'{"type":0,"requestId":7}'):
        with pytest.raises(ClusterDecodeError):
            decode_request(bad)


def test_options_and_flags() -> None:
    opts = BroadcastOptions(
        rooms=frozenset({"b", "a"}),
        except_=frozenset({"c"}),
        flags=BroadcastFlags(volatile=True, timeout=2.5),
    )
    wire = opts_to_wire(opts)
    assert wire == {
        "rooms": ["a", "b"],
        "except": ["c"],
        "flags": {"volatile": True, "timeout": 2500},
    }
    back = opts_from_wire(wire)
    assert back.rooms == opts.rooms and back.except_ == opts.except_
    assert back.flags.volatile and back.flags.timeout == 2.5 and back.flags.compress
    # Node rooms may be numbers
    assert opts_from_wire({"rooms": [1, 2.0, 2.5], "except": []}).rooms == {"1", "2", "2.5"}
    with pytest.raises(ClusterDecodeError):
        opts_from_wire({"rooms": "a"})


def test_cluster_messages_json_or_msgpack() -> None:
    message = {
        "type": MessageType.BROADCAST,
        "data": {"packet": {"type": 2, "data": ["e"], "nsp": "/"}, "opts": {}},
        "uid": "u",
        "nsp": "/",
    }
    assert encode_sharded(message).startswith(b"{")
    assert decode_message(encode_sharded(message)) == message
    message["data"]["packet"]["data"] = ["e", b"\x01"]  # type: ignore[index]
    assert not encode_sharded(message).startswith(b"{")
    assert decode_message(encode_sharded(message)) == message
    with pytest.raises(ClusterDecodeError):
        decode_message(dumps({"type": "3", "uid": "u", "nsp": "/"}))


def test_stream_entries() -> None:
    message = {"type": 3, "uid": "u", "nsp": "/", "data": {"packet": {"data": ["e", 1]}}}
    entry = encode_stream_entry(message)
    assert entry == {"uid": "u", "nsp": "/", "type": "3", "data": '{"packet":{"data":["e",1]}}'}
    raw = {k.encode(): v.encode() for k, v in entry.items()}
    assert decode_stream_entry(raw) == message
    binary = {"type": 3, "uid": "u", "nsp": "/", "data": {"packet": {"data": ["e", b"\x02"]}}}
    entry = encode_stream_entry(binary)
    assert unpack(base64.b64decode(entry["data"])) == binary["data"]
    assert decode_stream_entry(entry) == binary
    # a heartbeat has no data field
    assert decode_stream_entry({b"uid": b"u", b"nsp": b"/", b"type": b"2"}) == {
        "uid": "u",
        "nsp": "/",
        "type": 2,
    }
    with pytest.raises(ClusterDecodeError):
        decode_stream_entry({b"uid": b"u", b"nsp": b"/", b"type": b"x"})


def test_ephemeral_messages_and_stream_ids() -> None:
    assert is_ephemeral({"type": 3, "data": {"requestId": "r"}})
    assert not is_ephemeral({"type": 3, "data": {}})
    assert is_ephemeral({"type": MessageType.FETCH_SOCKETS})
    assert not is_ephemeral({"type": MessageType.SOCKETS_JOIN})
    assert parse_stream_id("1700000000000-3") == (1700000000000, 3)
    assert next_stream_id("1700000000000-3") == "1700000000000-4"
    assert parse_stream_id("1-10") > parse_stream_id("1-9")
    with pytest.raises(ValueError):
        parse_stream_id("1700000000000")


def test_decode_any_tells_json_from_msgpack() -> None:
    assert decode_any(b'{"a":1}') == {"a": 1}
    assert decode_any(pack({"a": 1})) == {"a": 1}
