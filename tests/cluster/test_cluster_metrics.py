"""The adapter's metrics on a real redis-server: two hubbub servers (one on
the embedded server, one on gevent), a client on each, a broadcast that
crosses, a message that cannot be decoded, and a publish while Redis is
down."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from cluster_fixtures import RedisServer, redis_server, wait_subscribers, wait_until

import hubbub
from conftest import ServerThread, sample, scrape
from hubbub.adapters.redis.classic import RedisAdapter
from hubbub.metrics import PrometheusMetrics, asgi_with_metrics, wsgi_with_metrics

__all__ = ["redis_server"]

pytestmark = pytest.mark.timeout(60)


def cluster_member(redis: RedisServer, runtime: str) -> ServerThread:
    sio = hubbub.Server(adapter=RedisAdapter.factory(redis.url))
    metrics = PrometheusMetrics()
    sio.add_observer(metrics)

    @sio.on("shout")
    def shout(socket: hubbub.Socket, text: str) -> None:
        sio.emit("news", text)

    if runtime == "gevent":
        return ServerThread(sio, wsgi_app=wsgi_with_metrics("/metrics", metrics), gevent=True)
    return ServerThread(sio, asgi_app=asgi_with_metrics("/metrics", metrics))


def listener(url: str) -> tuple[hubbub.Client, list[Any], threading.Event]:
    client = hubbub.Client()
    got: list[Any] = []
    arrived = threading.Event()

    def news(text: Any) -> None:
        got.append(text)
        arrived.set()

    client.on("news", news)
    client.connect(url, transports=["websocket"], wait_timeout=10)
    return client, got, arrived


def test_adapter_publish_receive_and_errors(redis_server: RedisServer) -> None:
    with cluster_member(redis_server, "embedded") as one, \
            cluster_member(redis_server, "gevent") as two:
        wait_subscribers(redis_server, "socket.io-request#/#", 2)
        a, got_a, _ = listener(one.url)
        b, got_b, arrived_b = listener(two.url)
        try:
            a.call("shout", "hello", timeout=5)
            assert arrived_b.wait(10)
            assert got_a == ["hello"] and got_b == ["hello"]
            first, second = scrape(one.url), scrape(two.url)
            assert sample(first, "hubbub_adapter_published_total", adapter="redis") == 1
            assert sample(first, "hubbub_adapter_received_total", adapter="redis") == 0
            assert sample(second, "hubbub_adapter_received_total", adapter="redis") == 1
            assert sample(second, "hubbub_adapter_published_total", adapter="redis") == 0
            # the fan-out on each server: its own client
            assert sample(first, "hubbub_broadcast_recipients_sum") == 1
            assert sample(second, "hubbub_broadcast_recipients_sum") == 1

            # something on the broadcast channel that is no broadcast
            redis_server.client().publish("socket.io#/#", b"\x00not msgpack")
            wait_until(
                lambda: sample(scrape(two.url), "hubbub_adapter_errors_total", adapter="redis",
                              operation="decode") == 1,
                10, "the decode error counted",
            )

            # Redis goes away: the publish fails, local delivery goes on
            redis_server.stop()
            got_a.clear()
            a.call("shout", "alone", timeout=5)
            deadline = time.monotonic() + 10
            while not got_a and time.monotonic() < deadline:
                time.sleep(0.02)
            assert got_a == ["alone"]
            wait_until(
                lambda: sample(scrape(one.url), "hubbub_adapter_errors_total", adapter="redis",
                              operation="publish") == 1,
                10, "the failed publish counted",
            )
            assert sample(scrape(one.url), "hubbub_adapter_published_total", adapter="redis") == 1
        finally:
            a.disconnect()
            b.disconnect()


@pytest.mark.parametrize("adapter", ["redis", "streams"])
def test_closing_a_server_closes_its_redis_link(redis_server: RedisServer, adapter: str) -> None:
    from hubbub.adapters.redis.streams import RedisStreamsAdapter

    factory = (RedisAdapter if adapter == "redis" else RedisStreamsAdapter).factory
    redis = redis_server.client()
    clients_before = len(redis.client_list())
    threads_before = set(threading.enumerate())
    sio = hubbub.Server(adapter=factory(redis_server.url))
    started = [t for t in threading.enumerate() if t not in threads_before]
    assert started, "the Redis link started no thread"
    wait_until(lambda: len(redis.client_list()) > clients_before, 10, "the link's connections")
    sio.close()
    for thread in started:
        thread.join(10)
        assert not thread.is_alive(), f"{thread.name} still runs after Server.close()"
    # its connections go with it: only the test's own client is left
    wait_until(lambda: len(redis.client_list()) == clients_before, 10, "the link's closing")
