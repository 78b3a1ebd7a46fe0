"""Tests for the Socket.IO msgpack parser (hubbub.socketio.msgpack).

The hex constants were produced once with socket.io-msgpack-parser 3.0.2
(notepack.io 2.2.0) under Node; the tests do not run Node.
"""

from __future__ import annotations

import contextlib
import datetime
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubbub.socketio import msgpack as msgpack_parser
from hubbub.socketio.codec import (
    MAX_ACK_ID,
    RESERVED_EVENTS,
    Decoder,
    Packet,
    PacketType,
    Parser,
    SocketIODecodeError,
)
from hubbub.socketio.msgpack import MsgpackDecoder, MsgpackParser

CONNECT = PacketType.CONNECT
DISCONNECT = PacketType.DISCONNECT
EVENT = PacketType.EVENT
ACK = PacketType.ACK
CONNECT_ERROR = PacketType.CONNECT_ERROR
BINARY_EVENT = PacketType.BINARY_EVENT
BINARY_ACK = PacketType.BINARY_ACK

PARSER = MsgpackParser()
UTC = datetime.timezone.utc
# new Date(1700000000123)
DATE = datetime.datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)
UNDEFINED = msgpack.ExtType(0, b"\x00")  # packs as d4 00 00: notepack's undefined


def encode(packet: Packet) -> bytes:
    (message,) = PARSER.encode(packet)
    assert isinstance(message, bytes)
    return message


def decode(data: bytes) -> Packet:
    return PARSER.decoder().feed(data)


# --------------------------------------------------------------------------- the JS encoder's bytes

# What the JavaScript server sends (key order as in socket.io's lib/socket.ts:
# type, data, [id], nsp; an ACK starts with id).
JS_SERVER: list[tuple[Packet, str]] = [
    (
        Packet(CONNECT, "/", {"sid": "oSO0OpakMV_3jnilAAAA"}),
        "83a47479706500a46461746181a3736964b46f534f304f70616b4d565f336a6e696c41414141a36e7370a12f",
    ),
    (
        Packet(EVENT, "/", ["hello", 1, -200, 3.5, True, None, {"a": "é", "b": [1, 2]}]),
        "83a47479706502a46461746197a568656c6c6f01d1ff38cb400c000000000000c3c082a161a2c3a9"
        "a162920102a36e7370a12f",
    ),
    (
        Packet(EVENT, "/admin", ["project:delete", b"\x01\x02\x03"], 456),
        "84a47479706502a46461746192ae70726f6a6563743a64656c657465c403010203a26964cd01c8"
        "a36e7370a62f61646d696e",
    ),
    (
        Packet(ACK, "/admin", [], 456),
        "84a26964cd01c8a47479706503a46461746190a36e7370a62f61646d696e",
    ),
    (
        Packet(CONNECT_ERROR, "/", {"message": "Not authorized"}),
        "83a47479706504a46461746181a76d657373616765ae4e6f7420617574686f72697a6564a36e7370a12f",
    ),
    (Packet(DISCONNECT, "/admin"), "82a47479706501a36e7370a62f61646d696e"),
    (
        Packet(
            EVENT,
            "/",
            ["x" * 40, 2**40, -(2**33), 65535, 70000, "ü" * 20, b"\x07" * 300],
        ),
        "83a47479706502a46461746197d928" + "78" * 40 + "cf0000010000000000d3fffffffe00000000"
        "cdffffce00011170d928" + "c3bc" * 20 + "c5012c" + "07" * 300 + "a36e7370a12f",
    ),
    (
        Packet(EVENT, "/", ["d", DATE]),
        "83a47479706502a46461746192a164d7000000018bcfe5687ba36e7370a12f",
    ),
]


@pytest.mark.parametrize(("packet", "expected"), JS_SERVER)
def test_encode_matches_js(packet: Packet, expected: str) -> None:
    assert encode(packet).hex() == expected
    assert decode(bytes.fromhex(expected)) == packet


# What JavaScript clients send (socket.io-client's lib/socket.ts adds "options").
JS_CLIENT: list[tuple[str, Packet]] = [
    (
        "85a47479706502a46461746192a568656c6c6fa5776f726c64a76f7074696f6e7381a8636f6d7072"
        "657373c3a2696403a36e7370a12f",
        Packet(EVENT, "/", ["hello", "world"], 3),
    ),
    (
        "84a47479706503a2696405a46461746192c402040581a16bc40106a36e7370a12f",
        Packet(ACK, "/", [b"\x04\x05", {"k": b"\x06"}], 5),
    ),
    (
        "83a47479706500a46461746181a5746f6b656ea3313233a36e7370a62f61646d696e",
        Packet(CONNECT, "/admin", {"token": "123"}),
    ),
    # no auth: data is undefined (d4 00 00) -> absent
    ("83a47479706500a464617461d40000a36e7370a12f", Packet(CONNECT, "/")),
    # ArrayBuffers (ext 0, including the 1- and 8-byte ones), a Date, undefined
    (
        "84a47479706502a46461746197a46d697363c70300090807c7010000c708000102030405060708d70000"
        "00018bcfe5687bd4000081a175d40000a76f7074696f6e7381a8636f6d7072657373c3a36e7370a12f",
        Packet(
            EVENT,
            "/",
            ["misc", b"\x09\x08\x07", b"\x00", bytes(range(1, 9)), DATE, None, {"u": None}],
        ),
    ),
    # new Date(-1)
    (
        "83a47479706502a46461746192a164d700ffffffffffffffffa36e7370a12f",
        Packet(EVENT, "/", ["d", datetime.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)]),
    ),
    # the JS server's CONNECT: {sid, pid: undefined}
    (
        "83a47479706500a46461746182a3736964b46f534f304f70616b4d565f336a6e696c41414141a3706964"
        "d40000a36e7370a12f",
        Packet(CONNECT, "/", {"sid": "oSO0OpakMV_3jnilAAAA", "pid": None}),
    ),
]


@pytest.mark.parametrize(("hex_data", "packet"), JS_CLIENT)
def test_decode_js(hex_data: str, packet: Packet) -> None:
    assert decode(bytes.fromhex(hex_data)) == packet


# --------------------------------------------------------------------------- encoding


def test_protocol_conformance() -> None:
    parser: Parser = PARSER
    decoder: Decoder = parser.decoder()
    assert parser.name == "msgpack"
    assert isinstance(decoder, MsgpackDecoder)


def test_binary_types_are_sent_as_plain_types() -> None:
    assert msgpack.unpackb(encode(Packet(BINARY_EVENT, "/", ["a", b"x"])))["type"] == 2
    assert msgpack.unpackb(encode(Packet(BINARY_ACK, "/", [b"x"], 1)))["type"] == 3


def test_key_order_and_absent_fields() -> None:
    def keys(packet: Packet) -> list[str]:
        return list(msgpack.unpackb(encode(packet)))

    assert keys(Packet(CONNECT)) == ["type", "nsp"]
    assert keys(Packet(EVENT, "/", ["a"])) == ["type", "data", "nsp"]
    assert keys(Packet(EVENT, "/", ["a"], 1)) == ["type", "data", "id", "nsp"]
    assert keys(Packet(ACK, "/", [], 1)) == ["id", "type", "data", "nsp"]
    assert keys(Packet(BINARY_ACK, "/", [b""], 1)) == ["id", "type", "data", "nsp"]


def test_bytes_likes_and_tuples() -> None:
    packet = Packet(EVENT, "/", ["a", bytearray(b"\x01"), memoryview(b"\x02"), (1, b"\x03")])
    assert decode(encode(packet)) == Packet(EVENT, "/", ["a", b"\x01", b"\x02", [1, b"\x03"]])


def test_datetimes() -> None:
    later = datetime.datetime(
        2030, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
    )
    assert decode(encode(Packet(EVENT, "/", ["t", later]))).data == ["t", later]
    with pytest.raises((TypeError, ValueError)):
        encode(Packet(EVENT, "/", ["t", datetime.datetime(2020, 1, 1)]))  # naive
    # standard timestamps (extension -1) decode too
    data = msgpack.packb({"type": 2, "nsp": "/", "data": ["t", DATE]}, datetime=True)
    assert decode(data).data == ["t", DATE]


def test_unencodable() -> None:
    with pytest.raises(TypeError):
        encode(Packet(EVENT, "/", ["a", {1, 2}]))


# --------------------------------------------------------------------------- decoding


def test_decoder_input_types() -> None:
    decoder = PARSER.decoder()
    message = encode(Packet(EVENT, "/", ["a"]))
    assert decoder.feed(bytearray(message)) == Packet(EVENT, "/", ["a"])
    assert decoder.feed(memoryview(message)) == Packet(EVENT, "/", ["a"])
    with pytest.raises(SocketIODecodeError):
        decoder.feed('2["a"]')
    with pytest.raises(SocketIODecodeError):
        decoder.feed(42)  # type: ignore[arg-type]


def test_unknown_keys_are_ignored() -> None:
    data = msgpack.packb(
        {"type": 2, "nsp": "/", "data": ["a"], "options": {"compress": True}, "x": 1}
    )
    assert decode(data) == Packet(EVENT, "/", ["a"])


def test_ack_id_bounds() -> None:
    data = msgpack.packb({"type": 3, "nsp": "/", "data": [], "id": MAX_ACK_ID})
    assert decode(data).id == MAX_ACK_ID
    assert decode(msgpack.packb({"type": 3, "nsp": "/", "data": [], "id": 0})).id == 0


def pack(obj: Any) -> bytes:
    data: bytes = msgpack.packb(obj, use_bin_type=True)
    return data


def P(**fields: Any) -> dict[str, Any]:  # a packet map
    return {"type": 2, "nsp": "/", "data": ["a"]} | fields


MALFORMED_OBJECTS: list[Any] = [
    [2, "/", ["a"]],
    2,
    "2",
    None,
    {},
    {"nsp": "/", "data": ["a"]},
    P(type="2"),
    P(type=True),
    P(type=2.0),
    P(type=-1),
    P(type=5),
    P(type=6),
    P(type=7),
    P(type=None),
    {"type": 2, "data": ["a"]},
    P(nsp=None),
    P(nsp=1),
    P(nsp=b"/"),
    P(nsp=""),
    P(nsp="admin"),
    P(nsp="/admin?token=1"),
    # CONNECT
    P(type=0, data=[]),
    P(type=0, data="x"),
    P(type=0, data=None),
    P(type=0, data={}, id=1),
    # DISCONNECT
    P(type=1, data={}),
    P(type=1, data=None),
    {"type": 1, "nsp": "/", "id": 1},
    # EVENT
    {"type": 2, "nsp": "/"},
    P(data=None),
    P(data=[]),
    P(data={}),
    P(data="a"),
    P(data=[None]),
    P(data=[True]),
    P(data=[{}]),
    P(data=[b"a"]),
    P(data=["connect"]),
    P(data=["disconnecting", 1]),
    # ACK
    {"type": 3, "nsp": "/", "id": 1},
    P(type=3, data={}, id=1),
    P(type=3, data=None, id=1),
    # CONNECT_ERROR
    {"type": 4, "nsp": "/"},
    P(type=4, data=None),
    P(type=4, data=[]),
    P(type=4, data=1),
    P(type=4, data="x", id=1),
    # ack ids
    P(id="1"),
    P(id=1.0),
    P(id=True),
    P(id=None),
    P(id=-1),
    P(id=MAX_ACK_ID + 1),
    P(id=2**64 - 1),
    # map keys must be strings, at any depth
    {"type": 2, "nsp": "/", "data": ["a"], 1: 2},
    P(data=["a", {1: 2}]),
    P(data=["a", {b"k": 2}]),
    P(data=["a", [{"ok": {None: 1}}]]),
    # extension types other than 0 and -1
    P(data=["a", msgpack.ExtType(5, b"x")]),
]


def with_undefined(obj: Any) -> Any:
    """The same object with an undefined (d4 00 00) value that sends the
    decoder down its pure-Python path."""
    if isinstance(obj, dict):
        return {"_": UNDEFINED} | obj
    if isinstance(obj, list):
        return [UNDEFINED, *obj]
    return obj


@pytest.mark.parametrize("slow", [False, True], ids=["fast", "slow"])
@pytest.mark.parametrize("obj", MALFORMED_OBJECTS, ids=repr)
def test_malformed_packets(obj: Any, slow: bool) -> None:
    data = pack(with_undefined(obj) if slow else obj)
    if slow and isinstance(obj, (dict, list)):
        with pytest.raises(msgpack_parser._Ambiguous):
            msgpack_parser._fast_unpack(data)
    with pytest.raises(SocketIODecodeError):
        decode(data)


GOOD = pack(P())
# {"type": 2, "nsp": "/", "data": ["a", <what follows>]}
EVENT_PREFIX = b"\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x92\xa1a"
MALFORMED_BYTES: list[bytes] = [
    b"",
    b"\xc1",  # never used
    GOOD[:-1],  # truncated
    GOOD + b"\x00",  # trailing bytes
    GOOD + GOOD,
    b"\x93\x02\xa1/\x91\xa1a",  # an array, not a map
    EVENT_PREFIX + b"\xa2\xff\xfe",  # invalid UTF-8
    EVENT_PREFIX + b"\xa3\xed\xa0\x80",  # an encoded surrogate
    EVENT_PREFIX + b"\xdd\xff\xff\xff\xff",  # huge array, no items
    EVENT_PREFIX + b"\xdf\xff\xff\xff\xff",  # huge map, no items
    EVENT_PREFIX + b"\x91" * 5000 + b"\x00",  # too deep
    EVENT_PREFIX + b"\x91" * 600 + b"\xd4\x00\x00",  # too deep for the slow path
    EVENT_PREFIX + b"\xc7\x05\x00\x01",  # truncated ext
    EVENT_PREFIX + b"\xd4\x00",  # truncated undefined
    EVENT_PREFIX + b"\xd7\x00\x7f\xff\xff\xff\xff\xff\xff\xff",  # date out of range
    EVENT_PREFIX + b"\xd6\xfe1234",  # extension -2
    EVENT_PREFIX + b"\xc7\x03\xffxyz",  # a timestamp of a bad length
    EVENT_PREFIX[:-3] + b"\x93\xa1a\xd4\x00\x00\xd6\xfe1234",  # extension -2, slow path
    EVENT_PREFIX[:-3] + b"\x93\xa1a\xd4\x00\x00\xc7\x03\xffxyz",  # bad timestamp, slow path
    EVENT_PREFIX[:-3] + b"\x93\xa1a\xd4\x00\x00\xd4\x05\x00",  # extension 5, slow path
]


@pytest.mark.parametrize("data", MALFORMED_BYTES, ids=lambda data: data[:24].hex())
def test_malformed_bytes(data: bytes) -> None:
    with pytest.raises(SocketIODecodeError):
        decode(data)


def test_undefined_data_and_id_are_absent() -> None:
    assert decode(pack({"type": 1, "nsp": "/x", "data": UNDEFINED, "id": UNDEFINED})) == Packet(
        DISCONNECT, "/x"
    )
    # but an event still needs its data
    with pytest.raises(SocketIODecodeError):
        decode(pack({"type": 2, "nsp": "/", "data": UNDEFINED}))
    # nested undefined is None
    assert decode(pack(P(data=["a", UNDEFINED, {"k": UNDEFINED}]))).data == ["a", None, {"k": None}]


def test_slow_and_fast_paths_agree_on_packets() -> None:
    obj = {
        "type": 2,
        "nsp": "/n",
        "id": 9,
        "data": ["e", 1, -1, -33, 2**63 - 1, -(2**63), 2**64 - 1, 0.5, "x" * 300, b"y" * 70000],
    }
    data = pack(obj)
    assert msgpack_parser._slow_unpack(data) == msgpack_parser._fast_unpack(data)
    float32 = b"\x81\xa1f\xca\x3f\xc0\x00\x00"
    assert (
        msgpack_parser._slow_unpack(float32) == msgpack_parser._fast_unpack(float32) == {"f": 1.5}
    )


# --------------------------------------------------------------------------- properties

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.binary(max_size=12)
)
VALUES = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=16,
)
EVENT_NAMES = st.text(max_size=12).filter(lambda name: name not in RESERVED_EVENTS) | st.integers(
    min_value=-(2**53), max_value=2**53
)
NAMESPACES = st.just("/") | st.text(max_size=8).map(lambda s: "/" + s.replace("?", ""))
ACK_IDS = st.none() | st.integers(min_value=0, max_value=MAX_ACK_ID)
DICTS = st.dictionaries(st.text(max_size=8), VALUES, max_size=4)


@st.composite
def packets(draw: st.DrawFn) -> Packet:
    kind = draw(
        st.sampled_from([EVENT, ACK, BINARY_EVENT, BINARY_ACK, CONNECT, DISCONNECT, CONNECT_ERROR])
    )
    nsp = draw(NAMESPACES)
    if kind in (EVENT, BINARY_EVENT):
        return Packet(
            kind, nsp, [draw(EVENT_NAMES), *draw(st.lists(VALUES, max_size=4))], draw(ACK_IDS)
        )
    if kind in (ACK, BINARY_ACK):
        return Packet(kind, nsp, draw(st.lists(VALUES, max_size=4)), draw(ACK_IDS.filter(bool)))
    if kind is CONNECT:
        return Packet(CONNECT, nsp, draw(st.none() | DICTS))
    if kind is DISCONNECT:
        return Packet(DISCONNECT, nsp)
    return Packet(CONNECT_ERROR, nsp, draw(st.text(max_size=10) | DICTS))


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(packets())
def test_round_trip(packet: Packet) -> None:
    expected_type = {BINARY_EVENT: EVENT, BINARY_ACK: ACK}.get(packet.type, packet.type)
    expected = Packet(expected_type, packet.nsp, packet.data, packet.id)
    data = encode(packet)
    assert decode(data) == expected
    # the pure-Python path gives the same
    assert msgpack_parser._slow_unpack(data) == msgpack_parser._fast_unpack(data)


@FAST
@given(st.binary(max_size=64))
def test_random_bytes_raise_only_decode_errors(data: bytes) -> None:
    with contextlib.suppress(SocketIODecodeError):
        decode(data)


_FIELD_VALUES = (
    VALUES
    | st.integers(min_value=-2, max_value=8)
    | st.sampled_from(["/", "/a", "a", "/a?b"])
    | st.just(UNDEFINED)
    | st.lists(VALUES | st.just(UNDEFINED), max_size=3)
)


@FAST
@given(st.dictionaries(st.sampled_from(["type", "nsp", "data", "id", "options"]), _FIELD_VALUES))
def test_structured_input_raises_only_decode_errors(obj: dict[str, Any]) -> None:
    try:
        packet = decode(pack(obj))
    except SocketIODecodeError:
        return
    assert packet.type in (CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR)
    assert packet.nsp.startswith("/")


@FAST
@given(st.binary(max_size=48))
def test_slow_path_agrees_with_fast_path_on_random_bytes(data: bytes) -> None:
    try:
        fast: Any = ("ok", repr(msgpack_parser._fast_unpack(data)))
    except msgpack_parser._Ambiguous:
        return
    except Exception:
        fast = "error"
    try:
        slow: Any = ("ok", repr(msgpack_parser._slow_unpack(data)))
    except Exception:
        slow = "error"
    assert fast == slow
