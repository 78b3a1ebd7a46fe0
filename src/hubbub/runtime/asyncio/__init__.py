"""The asyncio runtime: the embedded server, ASGI, and the asyncio client.

Importing this package imports nothing; its modules import asyncio (and
httptools, and uvloop when it is installed and asked for).
"""
