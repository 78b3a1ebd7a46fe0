"""The rooms and who is in them (in memory)."""

import itertools
import threading

ROOM_NAMES = {1: "Lobby", 2: "Elsewhere"}
# room id -> {session id: name}
PEOPLE: dict[int, dict[str, str]] = {room: {} for room in ROOM_NAMES}
lock = threading.Lock()
ids = itertools.count(1)
