"""Tests for the Socket.IO JSON codec (hubbub.socketio.codec).

Expected strings come from the Socket.IO protocol documents (v5 and v4) and the
official socket.io-protocol test suite; nested-binary layouts were checked once
against socket.io-parser 4.x.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubbub.socketio.codec import (
    DEFAULT_MAX_ATTACHMENTS,
    MAX_ACK_ID,
    RESERVED_EVENTS,
    Decoder,
    JsonDecoder,
    JsonParser,
    Packet,
    PacketType,
    Parser,
    SocketIODecodeError,
)

CONNECT = PacketType.CONNECT
DISCONNECT = PacketType.DISCONNECT
EVENT = PacketType.EVENT
ACK = PacketType.ACK
CONNECT_ERROR = PacketType.CONNECT_ERROR
BINARY_EVENT = PacketType.BINARY_EVENT
BINARY_ACK = PacketType.BINARY_ACK

V5 = JsonParser()
V4 = JsonParser(protocol=4)
BIN = b"\x01\x02\x03\x04"


def ph(num: int) -> str:
    return f'{{"_placeholder":true,"num":{num}}}'


def decode_all(parser: JsonParser, messages: list[str | bytes]) -> Packet:
    """Feed messages to a fresh decoder; only the last may complete the packet."""
    decoder = parser.decoder()
    *head, last = messages
    for message in head:
        assert decoder.feed(message) is None
    packet = decoder.feed(last)
    assert packet is not None
    assert decoder.awaiting == 0
    return packet


def decoded_form(packet: Packet) -> Packet:
    """What a decoder gives back for ``packet``: binary types become EVENT / ACK,
    bytes-likes become bytes, tuples lists."""

    def norm(value: Any) -> Any:
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        if isinstance(value, (list, tuple)):
            return [norm(item) for item in value]
        if isinstance(value, dict):
            return {key: norm(item) for key, item in value.items()}
        return value

    ptype = {BINARY_EVENT: EVENT, BINARY_ACK: ACK}.get(packet.type, packet.type)
    return Packet(ptype, packet.nsp, norm(packet.data), packet.id)


# --------------------------------------------------------------------------- basics


def test_packet_type_values() -> None:
    assert [(t.name, int(t)) for t in PacketType] == [
        ("CONNECT", 0),
        ("DISCONNECT", 1),
        ("EVENT", 2),
        ("ACK", 3),
        ("CONNECT_ERROR", 4),
        ("BINARY_EVENT", 5),
        ("BINARY_ACK", 6),
    ]


def test_packet_defaults() -> None:
    packet = Packet(EVENT)
    assert (packet.nsp, packet.data, packet.id) == ("/", None, None)
    assert not hasattr(packet, "__dict__")  # slots


def test_protocol_conformance() -> None:
    parser: Parser = V5
    decoder: Decoder = parser.decoder()
    assert parser.name == "json"
    assert isinstance(decoder, JsonDecoder)


def test_bad_constructor_arguments() -> None:
    with pytest.raises(ValueError):
        JsonParser(protocol=3)
    with pytest.raises(ValueError):
        JsonParser(max_attachments=-1)


# --------------------------------------------------------------------------- protocol v5 examples

V5_EXAMPLES: list[tuple[Packet, list[str | bytes]]] = [
    # sio5.md "Packet encoding" examples
    (Packet(CONNECT), ["0"]),
    (
        Packet(CONNECT, "/admin", {"sid": "oSO0OpakMV_3jnilAAAA"}),
        ['0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}'],
    ),
    (Packet(CONNECT_ERROR, "/", {"message": "Not authorized"}), ['4{"message":"Not authorized"}']),
    (Packet(EVENT, "/", ["foo"]), ['2["foo"]']),
    (Packet(EVENT, "/admin", ["bar"]), ['2/admin,["bar"]']),
    (Packet(EVENT, "/", ["baz", BIN]), [f'51-["baz",{ph(0)}]', BIN]),
    (
        Packet(EVENT, "/admin", ["baz", b"\x01\x02", b"\x03\x04"]),
        [f'52-/admin,["baz",{ph(0)},{ph(1)}]', b"\x01\x02", b"\x03\x04"],
    ),
    (Packet(EVENT, "/", ["foo"], 12), ['212["foo"]']),
    (Packet(ACK, "/admin", ["bar"], 13), ['3/admin,13["bar"]']),
    (Packet(ACK, "/", ["bar", BIN], 15), [f'61-15["bar",{ph(0)}]', BIN]),
    (Packet(DISCONNECT), ["1"]),
    (Packet(DISCONNECT, "/admin"), ["1/admin,"]),
    # exchange examples
    (Packet(ACK, "/", [], 12), ["312[]"]),
    (Packet(CONNECT, "/admin", {"token": "123"}), ['0/admin,{"token":"123"}']),
    (Packet(CONNECT, "/", {"token": "123"}), ['0{"token":"123"}']),
    # sample session
    (Packet(CONNECT, "/", {"sid": "wZX3oN0bSVIhsaknAAAI"}), ['0{"sid":"wZX3oN0bSVIhsaknAAAI"}']),
    (Packet(EVENT, "/", ["hey", "Jude"]), ['2["hey","Jude"]']),
    (Packet(EVENT, "/", ["hello"]), ['2["hello"]']),
    (Packet(CONNECT, "/admin"), ["0/admin,"]),
    (
        Packet(CONNECT, "/admin", {"sid": "-G5j-67EZFp-q59rADQM"}),
        ['0/admin,{"sid":"-G5j-67EZFp-q59rADQM"}'],
    ),
    (Packet(EVENT, "/admin", ["tellme"], 1), ['2/admin,1["tellme"]']),
    (Packet(ACK, "/admin", [BIN], 1), [f"61-/admin,1[{ph(0)}]", BIN]),
    # official test suite
    (Packet(CONNECT, "/custom", {"token": "abc"}), ['0/custom,{"token":"abc"}']),
    (Packet(EVENT, "/", ["auth", {}]), ['2["auth",{}]']),
    (Packet(EVENT, "/custom", ["auth", {"token": "abc"}]), ['2/custom,["auth",{"token":"abc"}]']),
    (
        Packet(CONNECT_ERROR, "/random", {"message": "Invalid namespace"}),
        ['4/random,{"message":"Invalid namespace"}'],
    ),
    (Packet(EVENT, "/", ["message", 1, "2", {"3": [True]}]), ['2["message",1,"2",{"3":[true]}]']),
    (
        Packet(EVENT, "/", ["message-with-ack", 1, "2", {"3": [False]}], 456),
        ['2456["message-with-ack",1,"2",{"3":[false]}]'],
    ),
    (Packet(ACK, "/", [1, "2", {"3": [False]}], 456), ['3456[1,"2",{"3":[false]}]']),
    (
        Packet(EVENT, "/", ["message-with-ack", b"\x01\x02\x03", b"\x04\x05\x06"], 789),
        [f'52-789["message-with-ack",{ph(0)},{ph(1)}]', b"\x01\x02\x03", b"\x04\x05\x06"],
    ),
    (
        Packet(ACK, "/", [b"\x01\x02\x03", b"\x04\x05\x06"], 789),
        [f"62-789[{ph(0)},{ph(1)}]", b"\x01\x02\x03", b"\x04\x05\x06"],
    ),
    (
        Packet(CONNECT_ERROR, "/", {"message": "Not authorized", "data": {"code": 42}}),
        ['4{"message":"Not authorized","data":{"code":42}}'],
    ),
    (Packet(EVENT, "/", ["é€😀", "\u2028"]), ['2["é€😀","\u2028"]']),
]


@pytest.mark.parametrize(("packet", "encoded"), V5_EXAMPLES)
def test_v5_examples_encode(packet: Packet, encoded: list[str | bytes]) -> None:
    assert V5.encode(packet) == encoded


@pytest.mark.parametrize(("packet", "encoded"), V5_EXAMPLES)
def test_v5_examples_decode(packet: Packet, encoded: list[str | bytes]) -> None:
    assert decode_all(V5, encoded) == decoded_form(packet)


@pytest.mark.parametrize(
    ("text", "packet"),
    [
        # the suite sends namespaces without the trailing comma
        ("0/custom", Packet(CONNECT, "/custom")),
        ("0/random", Packet(CONNECT, "/random")),
        ("1/custom", Packet(DISCONNECT, "/custom")),
        # an explicit "/" namespace, leading zeros in the id (JS: Number("007"))
        ('2/,["a"]', Packet(EVENT, "/", ["a"])),
        ('2007["a"]', Packet(EVENT, "/", ["a"], 7)),
        # numbers are valid event names (socket.io-parser checks typeof "number")
        ("2[1,2]", Packet(EVENT, "/", [1, 2])),
        ("2[1.5]", Packet(EVENT, "/", [1.5])),
        # JSON whitespace is JSON
        ('2 ["a"]', Packet(EVENT, "/", ["a"])),
        # placeholders in a plain EVENT are left alone
        (f'2["a",{ph(0)}]', Packet(EVENT, "/", ["a", {"_placeholder": True, "num": 0}])),
        # CONNECT_ERROR as a string (what protocol 4 servers send) is fine for v5 too
        ('4"nope"', Packet(CONNECT_ERROR, "/", "nope")),
    ],
)
def test_decode_variants(text: str, packet: Packet) -> None:
    assert V5.decoder().feed(text) == packet
    assert V4.decoder().feed(text) == packet


def test_explicit_binary_type_without_binary() -> None:
    # encode() deconstructs BINARY_* packets even without bytes inside
    assert V5.encode(Packet(BINARY_EVENT, "/", ["a"])) == ['50-["a"]']
    assert V5.encode(Packet(BINARY_ACK, "/x", [], 3)) == ["60-/x,3[]"]
    # a zero-attachment binary packet completes at once, as EVENT / ACK
    assert V5.decoder().feed('50-["a"]') == Packet(EVENT, "/", ["a"])
    assert V5.decoder().feed("60-/x,3[]") == Packet(ACK, "/x", [], 3)


# --------------------------------------------------------------------------- protocol v4 examples

V4_EXAMPLES: list[tuple[Packet, list[str | bytes]]] = [
    # sio4.md "Examples"
    (Packet(CONNECT), ["0"]),
    (Packet(CONNECT, "/admin"), ["0/admin,"]),
    (Packet(DISCONNECT, "/admin"), ["1/admin,"]),
    (Packet(EVENT, "/", ["hello", 1]), ['2["hello",1]']),
    (Packet(EVENT, "/admin", ["project:delete", 123], 456), ['2/admin,456["project:delete",123]']),
    (Packet(ACK, "/admin", [], 456), ["3/admin,456[]"]),
    (Packet(CONNECT_ERROR, "/admin", "Not authorized"), ['4/admin,"Not authorized"']),
    (Packet(EVENT, "/", ["hello", b"\x01\x02\x03"]), [f'51-["hello",{ph(0)}]', b"\x01\x02\x03"]),
    (
        Packet(EVENT, "/admin", ["project:delete", b"\x01\x02\x03"], 456),
        [f'51-/admin,456["project:delete",{ph(0)}]', b"\x01\x02\x03"],
    ),
    (Packet(ACK, "/admin", [b"\x03\x02\x01"], 456), [f"61-/admin,456[{ph(0)}]", b"\x03\x02\x01"]),
    # a 2.x server refusing a namespace
    (Packet(CONNECT_ERROR, "/", "Invalid namespace"), ['4"Invalid namespace"']),
    # the client 2.x puts the query of a namespace into the CONNECT packet's nsp
    (Packet(CONNECT, "/admin?token=1234&uid=abcd"), ["0/admin?token=1234&uid=abcd,"]),
    # sample session
    (Packet(EVENT, "/", ["hey", "Jude"]), ['2["hey","Jude"]']),
    (Packet(EVENT, "/admin", ["tellme"], 1), ['2/admin,1["tellme"]']),
    (Packet(ACK, "/admin", [BIN], 1), [f"61-/admin,1[{ph(0)}]", BIN]),
]


@pytest.mark.parametrize(("packet", "encoded"), V4_EXAMPLES)
def test_v4_examples(packet: Packet, encoded: list[str | bytes]) -> None:
    assert V4.encode(packet) == encoded
    assert decode_all(V4, encoded) == decoded_form(packet)


def test_query_in_namespace_only_for_v4() -> None:
    for text in ["0/admin?token=abc,", "0/admin?token=abc", '2/a?b=c,["x"]']:
        assert V4.decoder().feed(text) is not None
        with pytest.raises(SocketIODecodeError):
            V5.decoder().feed(text)
    assert V4.decoder().feed("0/admin?token=abc") == Packet(CONNECT, "/admin?token=abc")


# --------------------------------------------------------------------------- binary


def test_nested_binary_depth_first() -> None:
    data = ["baz", b"\x01\x02", {"x": [b"\x03\x04"], "y": {"z": b"\x05"}}, [[b"\x06"]]]
    encoded = V5.encode(Packet(EVENT, "/admin", data, 7))
    # byte for byte what socket.io-parser 4.x produces
    assert encoded == [
        f'54-/admin,7["baz",{ph(0)},{{"x":[{ph(1)}],"y":{{"z":{ph(2)}}}}},[[{ph(3)}]]]',
        b"\x01\x02",
        b"\x03\x04",
        b"\x05",
        b"\x06",
    ]
    assert decode_all(V5, encoded) == Packet(EVENT, "/admin", data, 7)


def test_binary_inputs_are_normalised_and_not_mutated() -> None:
    data: list[Any] = ["a", bytearray(b"\x01"), memoryview(b"\x02"), (b"\x03", {"k": b""})]
    snapshot = repr(data)
    encoded = V5.encode(Packet(EVENT, "/", data))
    assert repr(data) == snapshot
    assert encoded[1:] == [b"\x01", b"\x02", b"\x03", b""]
    assert all(type(part) is bytes for part in encoded[1:])
    assert decode_all(V5, encoded).data == ["a", b"\x01", b"\x02", [b"\x03", {"k": b""}]]


def test_binary_only_converts_event_and_ack() -> None:
    # CONNECT data is written as given: bytes there are an encoding error
    with pytest.raises(TypeError):
        V5.encode(Packet(CONNECT, "/", {"b": b"x"}))


def test_placeholder_reconstruction_rules() -> None:
    decoder = V5.decoder()
    # extra keys do not matter (reference: `_placeholder === true` is enough)
    assert decoder.feed('51-["a",{"_placeholder":true,"num":0,"x":1}]') is None
    assert decoder.feed(b"\x09") == Packet(EVENT, "/", ["a", b"\x09"])
    # _placeholder not exactly true: an ordinary object
    assert decoder.feed('51-["a",{"_placeholder":1,"num":0},{"_placeholder":true,"num":0}]') is None
    assert decoder.feed(b"\x09") == Packet(
        EVENT, "/", ["a", {"_placeholder": 1, "num": 0}, b"\x09"]
    )
    # the same attachment may be referenced twice; attachments may go unused
    assert decoder.feed(f"62-[{ph(1)},{ph(1)}]") is None
    assert decoder.feed(b"\x00") is None
    assert decoder.awaiting == 1
    assert decoder.feed(b"\x01") == Packet(ACK, "/", [b"\x01", b"\x01"])


@pytest.mark.parametrize(
    "placeholder",
    [
        '{"_placeholder":true,"num":1}',
        '{"_placeholder":true,"num":-1}',
        '{"_placeholder":true,"num":0.5}',
        '{"_placeholder":true,"num":true}',
        '{"_placeholder":true,"num":"0"}',
        '{"_placeholder":true}',
    ],
)
def test_bad_placeholders(placeholder: str) -> None:
    decoder = V5.decoder()
    assert decoder.feed(f'51-["a",{{"k":[{placeholder}]}}]') is None
    with pytest.raises(SocketIODecodeError):
        decoder.feed(b"\x00")
    assert decoder.awaiting == 0  # state dropped: the decoder can go on
    assert decoder.feed('2["b"]') == Packet(EVENT, "/", ["b"])


def test_decoder_state_machine() -> None:
    decoder = V5.decoder()
    assert decoder.awaiting == 0
    assert decoder.feed(f'52-["a",{ph(0)},{ph(1)}]') is None
    assert decoder.awaiting == 2
    assert decoder.feed(bytearray(b"\x01")) is None
    assert decoder.awaiting == 1
    assert decoder.feed(memoryview(b"\x02")) == Packet(EVENT, "/", ["a", b"\x01", b"\x02"])
    assert decoder.awaiting == 0
    # a text message while attachments are awaited
    assert decoder.feed(f'51-["a",{ph(0)}]') is None
    with pytest.raises(SocketIODecodeError, match="awaiting"):
        decoder.feed('2["b"]')
    assert decoder.awaiting == 0
    # binary when nothing is awaited
    with pytest.raises(SocketIODecodeError, match="no attachments"):
        decoder.feed(b"\x01")
    # reset() drops a partial packet
    assert decoder.feed(f'51-["a",{ph(0)}]') is None
    decoder.reset()
    assert decoder.feed('2["b"]') == Packet(EVENT, "/", ["b"])
    # neither str nor bytes
    with pytest.raises(SocketIODecodeError):
        decoder.feed(42)  # type: ignore[arg-type]


def test_max_attachments() -> None:
    assert DEFAULT_MAX_ATTACHMENTS == 10
    placeholders = ",".join(ph(n) for n in range(10))
    decoder = V5.decoder()
    assert decoder.feed(f'510-["a",{placeholders}]') is None
    for n in range(9):
        assert decoder.feed(bytes([n])) is None
    packet = decoder.feed(b"\x09")
    assert packet is not None and packet.data == ["a", *(bytes([n]) for n in range(10))]
    with pytest.raises(SocketIODecodeError, match="too many"):
        V5.decoder().feed('511-["a"]')
    with pytest.raises(SocketIODecodeError):
        V5.decoder().feed('599999999999999999999-["a"]')
    small = JsonParser(max_attachments=2)
    assert small.decoder().feed(f'52-["a",{ph(0)},{ph(1)}]') is None
    with pytest.raises(SocketIODecodeError):
        small.decoder().feed('53-["a"]')
    none = JsonParser(max_attachments=0)
    assert none.decoder().feed('50-["a"]') == Packet(EVENT, "/", ["a"])
    with pytest.raises(SocketIODecodeError):
        none.decoder().feed(f'51-["a",{ph(0)}]')
    big = JsonParser(max_attachments=1000)
    assert big.decoder().feed('51000-["a"]') is None
    with pytest.raises(SocketIODecodeError):
        big.decoder().feed('51001-["a"]')


# --------------------------------------------------------------------------- ack ids


def test_ack_id_bounds() -> None:
    assert V5.decoder().feed(f'2{MAX_ACK_ID}["a"]') == Packet(EVENT, "/", ["a"], MAX_ACK_ID)
    assert V5.encode(Packet(ACK, "/", [], MAX_ACK_ID)) == [f"3{MAX_ACK_ID}[]"]
    for ack_id in [MAX_ACK_ID + 1, 10**17, 10**400]:
        with pytest.raises(SocketIODecodeError, match="ack id"):
            V5.decoder().feed(f'2{ack_id}["a"]')
    assert V5.decoder().feed("30[]") == Packet(ACK, "/", [], 0)


# --------------------------------------------------------------------------- malformed input

MALFORMED: list[str] = [
    "",  # no type (JS: Number("") is 0 -> CONNECT)
    "7",
    "9[]",
    "a",
    "-1",
    "٢[]",  # a non-ASCII digit
    # CONNECT
    "0[]",
    '0"x"',
    "0null",
    "01",
    "0/admin,1",  # CONNECT with an ack id
    "0{",
    "0{}x",
    # DISCONNECT
    "1{}",
    "1null",
    "1/admin,1",
    # EVENT
    "2",
    "2/admin,",
    "2[]",
    "2{}",
    '2"a"',
    "2null",
    "2[null]",
    "2[true]",
    "2[{}]",
    "2[[]]",
    '2["connect"]',
    '2["disconnect",1]',
    '2["newListener"]',
    '2abc["a"]',  # non-numeric ack id
    '21a["a"]',
    '2["a"]x',  # trailing garbage
    '2["a"]]',
    '2["a"',
    "2[NaN]",  # also with the stdlib's json.loads, which takes NaN: not a number name
    '2["a",undefined]',
    "2['a']",
    '2admin,["a"]',  # nsp without "/"
    ',2["a"]',
    '2,["a"]',
    '2/admin["a"]',  # nsp runs to the first ","
    # ACK
    "3",
    "31",
    "3{}",
    '3"a"',
    "3null",
    "3/admin,1",
    # CONNECT_ERROR
    "4",
    "4/admin,",
    "4null",
    "4[]",
    "41",
    "4true",
    '41"x"',  # CONNECT_ERROR with an ack id
    # binary headers
    "5",
    "5-",
    '5["a"]',
    '51["a"]',  # no "-"
    '5-["a"]',  # no count (JS: Number("") is 0)
    '5 1-["a"]',
    '5a-["a"]',
    '51.0-["a"]',
    '5-1-["a"]',
    '5+1-["a"]',
    "51-",
    "51-[]",
    '51-[{"_placeholder":true,"num":0}]',  # placeholder as the event name
    '51-{"a":1}',
    "61-{}",
    '61-"a"',
    "6",
    '50-["a",{"_placeholder":true,"num":0}]',  # placeholder out of range
]


@pytest.mark.parametrize("text", MALFORMED)
@pytest.mark.parametrize("parser", [V5, V4], ids=["v5", "v4"])
def test_malformed(parser: JsonParser, text: str) -> None:
    with pytest.raises(SocketIODecodeError):
        parser.decoder().feed(text)


def test_non_json_numbers_with_orjson() -> None:
    # with orjson installed, its decoder refuses them too
    for text in ['2["a",NaN]', '2["a",Infinity]', "3[-Infinity]"]:
        with pytest.raises(SocketIODecodeError):
            V5.decoder().feed(text)


def test_reserved_event_names() -> None:
    assert {"connect", "connect_error", "disconnect", "disconnecting"} <= RESERVED_EVENTS
    for name in RESERVED_EVENTS:
        for parser in (V5, V4):
            with pytest.raises(SocketIODecodeError, match="reserved"):
                parser.decoder().feed("2" + json.dumps([name]))
    # only the event name position matters
    assert V5.decoder().feed('2["x","connect"]') == Packet(EVENT, "/", ["x", "connect"])
    assert V5.decoder().feed('3["connect"]') == Packet(ACK, "/", ["connect"])


def test_deep_nesting_with_stdlib_json() -> None:
    parser = JsonParser(dumps=json.dumps, loads=json.loads)
    with pytest.raises(SocketIODecodeError):
        parser.decoder().feed("2" + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(SocketIODecodeError):
        V5.decoder().feed("2" + "[" * 100_000 + "]" * 100_000)
    # deep but legal data with a placeholder at the bottom is reconstructed iteratively
    depth = 200
    text = '51-["a",' + "[" * depth + ph(0) + "]" * depth + "]"
    decoder = V5.decoder()
    assert decoder.feed(text) is None
    packet = decoder.feed(b"\x07")
    assert packet is not None
    inner = packet.data[1]
    for _ in range(depth - 1):
        inner = inner[0]
    assert inner == [b"\x07"]


def test_custom_dumps_and_loads() -> None:
    calls: list[str] = []

    def loads(text: str) -> Any:
        calls.append(text)
        return json.loads(text)

    parser = JsonParser(dumps=lambda obj: json.dumps(obj, separators=(",", ":")), loads=loads)
    assert parser.encode(Packet(EVENT, "/", ["a", {"b": 1}])) == ['2["a",{"b":1}]']
    assert parser.decoder().feed('2["a"]') == Packet(EVENT, "/", ["a"])
    assert calls == ['["a"]']


def test_default_json_is_compact_and_keeps_unicode() -> None:
    assert V5.encode(Packet(EVENT, "/", ["a", {"b": [1, 2.5, None]}, "ü"])) == [
        '2["a",{"b":[1,2.5,null]},"ü"]'
    ]


# --------------------------------------------------------------------------- properties

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
_KEYS = st.text(max_size=8).filter(lambda key: key != "_placeholder")


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(children, max_size=4) | st.dictionaries(_KEYS, children, max_size=4)


VALUES = st.recursive(_SCALARS | st.binary(max_size=8), _containers, max_leaves=16)
EVENT_NAMES = st.text(max_size=12).filter(lambda name: name not in RESERVED_EVENTS) | st.integers(
    min_value=-(2**53), max_value=2**53
)
NAMESPACES = st.just("/") | st.text(max_size=8).map(
    lambda s: "/" + s.replace(",", "").replace("?", "")
)
ACK_IDS = st.none() | st.integers(min_value=0, max_value=MAX_ACK_ID)


@st.composite
def packets(draw: st.DrawFn) -> Packet:
    kind = draw(st.sampled_from(["event", "ack", "connect", "disconnect", "error"]))
    nsp = draw(NAMESPACES)
    if kind == "event":
        data = [draw(EVENT_NAMES), *draw(st.lists(VALUES, max_size=4))]
        return Packet(EVENT, nsp, data, draw(ACK_IDS))
    if kind == "ack":
        return Packet(ACK, nsp, draw(st.lists(VALUES, max_size=4)), draw(ACK_IDS.filter(bool)))
    json_values = st.recursive(_SCALARS, _containers, max_leaves=8)
    if kind == "connect":
        return Packet(
            CONNECT, nsp, draw(st.none() | st.dictionaries(_KEYS, json_values, max_size=3))
        )
    if kind == "disconnect":
        return Packet(DISCONNECT, nsp)
    message = st.fixed_dictionaries(
        {"message": st.text(max_size=10)}, optional={"data": json_values}
    )
    return Packet(CONNECT_ERROR, nsp, draw(st.text(max_size=10) | message))


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(packets(), st.sampled_from([V5, V4]))
def test_round_trip(packet: Packet, parser: JsonParser) -> None:
    encoded = parser.encode(packet)
    assert all(isinstance(part, bytes) for part in encoded[1:])
    assert decode_all(parser, encoded) == decoded_form(packet)


@FAST
@given(st.lists(st.text(max_size=40) | st.binary(max_size=20), min_size=1, max_size=4))
def test_random_input_raises_only_decode_errors(messages: list[str | bytes]) -> None:
    for parser in (V5, V4):
        decoder = parser.decoder()
        for message in messages:
            with contextlib.suppress(SocketIODecodeError):
                decoder.feed(message)


_NEAR_MISS = st.lists(
    st.sampled_from(
        [
            "0",
            "1",
            "2",
            "3",
            "4",
            "5",
            "6",
            "-",
            "/",
            ",",
            "?",
            "[",
            "]",
            "{",
            "}",
            '"',
            ":",
            "a",
            "null",
            "true",
            '"_placeholder"',
            '"num"',
            " ",
            "9",
            "\u0663",
        ]
    ),
    max_size=25,
).map("".join)


@FAST
@given(st.lists(_NEAR_MISS | st.binary(max_size=4), min_size=1, max_size=4))
def test_near_miss_input_raises_only_decode_errors(messages: list[str | bytes]) -> None:
    for parser in (V5, V4, JsonParser(loads=json.loads)):
        decoder = parser.decoder()
        for message in messages:
            try:
                packet = decoder.feed(message)
            except SocketIODecodeError:
                continue
            if packet is not None:
                assert isinstance(packet.type, PacketType)
                assert packet.type not in (BINARY_EVENT, BINARY_ACK)
                assert packet.nsp.startswith("/")
