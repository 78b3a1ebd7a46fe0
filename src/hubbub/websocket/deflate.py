"""permessage-deflate (RFC 7692), server side, sans-IO: negotiating an
offer, compressing outgoing messages and inflating incoming ones."""

from __future__ import annotations

import zlib

from hubbub.websocket.frames import OP_BINARY, OP_TEXT, CloseCode, WebSocketError, encode_frame

__all__ = ["PerMessageDeflate"]

_DEFLATE_TAIL = b"\x00\x00\xff\xff"


def _split_params(offer: str) -> tuple[str, list[tuple[str, str | None]]] | None:
    """Split one extension offer into its name and ``(param, value)`` pairs (None: malformed)."""
    parts = offer.split(";")
    name = parts[0].strip().lower()
    params: list[tuple[str, str | None]] = []
    for part in parts[1:]:
        part = part.strip()
        if not part:
            return None
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not key:
            return None
        if not sep:
            params.append((key, None))
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        if not value:
            return None
        params.append((key, value))
    return name, params


def _split_offers(header: str) -> list[str]:
    """Split a Sec-WebSocket-Extensions header on commas outside quoted strings."""
    offers: list[str] = []
    start = 0
    quoted = False
    for i, char in enumerate(header):
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            offers.append(header[start:i])
            start = i + 1
    offers.append(header[start:])
    return [offer for offer in offers if offer.strip()]


def _window_bits(value: str | None) -> int | None:
    # ASCII digits only: int() refuses other Unicode digits ("²")
    if value is None or not (value.isascii() and value.isdigit()):
        return None
    if len(value) > 2 or value[0] == "0":
        return None
    bits = int(value)
    return bits if 8 <= bits <= 15 else None


class PerMessageDeflate:
    """permessage-deflate (RFC 7692), server side. Off by default in the server; this class is
    what turns it on. One instance per connection: it holds the compression contexts."""

    __slots__ = (
        "_compressor",
        "_decompressor",
        "client_max_window_bits",
        "client_no_context_takeover",
        "compress_level",
        "min_size",
        "server_max_window_bits",
        "server_no_context_takeover",
    )

    def __init__(
        self,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int = 15,
        client_max_window_bits: int = 15,
        compress_level: int = 6,
        min_size: int = 32,
    ) -> None:
        # zlib cannot produce a raw deflate stream with an 8-bit window.
        if not 9 <= server_max_window_bits <= 15:
            raise ValueError("server_max_window_bits must be between 9 and 15")
        if not 8 <= client_max_window_bits <= 15:
            raise ValueError("client_max_window_bits must be between 8 and 15")
        if not -1 <= compress_level <= 9:
            raise ValueError("compress_level must be between -1 and 9")
        self.server_no_context_takeover = server_no_context_takeover
        self.client_no_context_takeover = client_no_context_takeover
        self.server_max_window_bits = server_max_window_bits
        self.client_max_window_bits = client_max_window_bits
        self.compress_level = compress_level
        self.min_size = min_size
        self._compressor: zlib._Compress | None = None
        self._decompressor: zlib._Decompress | None = None

    @classmethod
    def negotiate(
        cls,
        offer_header: str | None,
        *,
        server_no_context_takeover: bool = False,
        client_no_context_takeover: bool = False,
        server_max_window_bits: int = 15,
        client_max_window_bits: int = 15,
        compress_level: int = 6,
        min_size: int = 32,
    ) -> tuple[PerMessageDeflate, str] | None:
        """Parse a client's ``Sec-WebSocket-Extensions`` header. If one of its permessage-deflate
        offers has parameters we can accept, return ``(instance, response header value)`` for the
        first such offer; otherwise None. The keyword options are this server's preferences (the
        constructor's arguments); the client's offer can only make them stricter."""
        if not offer_header:
            return None
        for offer in _split_offers(offer_header):
            parsed = _split_params(offer)
            if parsed is None or parsed[0] != "permessage-deflate":
                continue
            result = cls._accept_offer(
                parsed[1],
                server_no_context_takeover,
                client_no_context_takeover,
                server_max_window_bits,
                client_max_window_bits,
            )
            if result is None:
                continue
            snct, cnct, sbits, cbits, response = result
            instance = cls(snct, cnct, sbits, cbits, compress_level, min_size)
            return instance, response
        return None

    @staticmethod
    def _accept_offer(
        params: list[tuple[str, str | None]],
        server_no_context_takeover: bool,
        client_no_context_takeover: bool,
        server_max_window_bits: int,
        client_max_window_bits: int,
    ) -> tuple[bool, bool, int, int, str] | None:
        seen: set[str] = set()
        offered_snct = offered_cnct = False
        offered_sbits: int | None = None
        offered_cbits: int | None = None
        client_bits_supported = False
        for key, value in params:
            if key in seen:
                return None
            seen.add(key)
            if key == "server_no_context_takeover":
                if value is not None:
                    return None
                offered_snct = True
            elif key == "client_no_context_takeover":
                if value is not None:
                    return None
                offered_cnct = True
            elif key == "server_max_window_bits":
                offered_sbits = _window_bits(value)
                if offered_sbits is None:
                    return None
            elif key == "client_max_window_bits":
                client_bits_supported = True
                if value is not None:
                    offered_cbits = _window_bits(value)
                    if offered_cbits is None:
                        return None
            else:
                return None

        response = ["permessage-deflate"]
        snct = server_no_context_takeover or offered_snct
        if snct:
            response.append("server_no_context_takeover")
        cnct = client_no_context_takeover or offered_cnct
        if cnct:
            response.append("client_no_context_takeover")

        sbits = server_max_window_bits
        if offered_sbits is not None:
            if offered_sbits < 9:  # zlib cannot compress raw deflate with a 256-byte window
                return None
            sbits = min(sbits, offered_sbits)
        if offered_sbits is not None or sbits < 15:
            response.append(f"server_max_window_bits={sbits}")

        cbits = 15 if offered_cbits is None else offered_cbits
        if client_bits_supported and client_max_window_bits < cbits:
            cbits = client_max_window_bits
        if client_bits_supported and (offered_cbits is not None or cbits < 15):
            response.append(f"client_max_window_bits={cbits}")
        return snct, cnct, sbits, cbits, "; ".join(response)

    def compress_message(self, payload: bytes) -> bytes:
        """Compress a whole message: the payload of a data frame to send with rsv1 set."""
        compressor = self._compressor
        if compressor is None:
            compressor = self._compressor = zlib.compressobj(
                self.compress_level, zlib.DEFLATED, -self.server_max_window_bits
            )
        # A full flush also forgets the history, which is what no-context-takeover asks for.
        mode = zlib.Z_FULL_FLUSH if self.server_no_context_takeover else zlib.Z_SYNC_FLUSH
        data = compressor.compress(payload) + compressor.flush(mode)
        if data.endswith(_DEFLATE_TAIL):
            data = data[:-4]
        return data

    def decompress_message(self, payload: bytes, max_size: int) -> bytes:
        """Decompress a whole message. Raises WebSocketError 1009 as soon as the output would
        exceed ``max_size`` bytes, 1002 on a corrupt stream."""
        decompressor = self._decompressor
        if decompressor is None:
            # A window at least as large as the client's always decodes its stream (and 9 copes
            # with clients whose zlib silently turned a negotiated 8 into 9).
            decompressor = zlib.decompressobj(-max(self.client_max_window_bits, 9))
            if not self.client_no_context_takeover:
                # Keep the context (and its window) only when the client may refer back to it.
                self._decompressor = decompressor
        try:
            out = decompressor.decompress(payload, max_size + 1)
            if len(out) > max_size:
                raise WebSocketError("decompressed message too big", CloseCode.TOO_BIG)
            if not decompressor.eof:
                out += decompressor.decompress(_DEFLATE_TAIL, max_size + 1 - len(out))
                if len(out) > max_size:
                    raise WebSocketError("decompressed message too big", CloseCode.TOO_BIG)
        except zlib.error as exc:
            self._decompressor = None
            raise WebSocketError(f"corrupt deflate stream: {exc}") from None
        if decompressor.eof:
            # The client ended the stream with a final block: start afresh next message.
            self._decompressor = None
        return out

    def frame(self, opcode: int, payload: bytes) -> bytes:
        """A server frame, compressed (rsv1 set) when it is a data frame of at least
        ``min_size`` bytes, plain otherwise."""
        if opcode in (OP_TEXT, OP_BINARY) and len(payload) >= self.min_size:
            return encode_frame(opcode, self.compress_message(payload), rsv1=True)
        return encode_frame(opcode, payload)

