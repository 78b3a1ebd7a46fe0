"""Adapters: who is where (rooms <-> sockets), locally or across a cluster."""

from hubbub.adapters.base import Adapter, BroadcastFlags, BroadcastOptions, PersistedSession
from hubbub.adapters.memory import InMemoryAdapter

__all__ = ["Adapter", "BroadcastFlags", "BroadcastOptions", "InMemoryAdapter", "PersistedSession"]
