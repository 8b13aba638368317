"""The private RabbitMQ node the fault tests use: killed with -9, it boots again with its durable messages."""
import os
import time

import pika
import pytest

from servicekit.testing import wait_until

pytestmark = pytest.mark.slow


def test_a_private_node_killed_with_sigkill_restarts_with_its_quorum_queue_and_persistent_messages(private_rabbit, figures):
    connection = pika.BlockingConnection(pika.URLParameters(private_rabbit.amqp_url))
    channel = connection.channel()
    channel.confirm_delivery()
    channel.queue_declare("survivor", durable=True, arguments={"x-queue-type": "quorum"})
    for i in range(20):
        channel.basic_publish("", "survivor", f"m{i}".encode(), pika.BasicProperties(delivery_mode=2))
    connection.close()
    # Ra saves its queue directory every 500 ms; a kill inside that window can orphan a queue declared
    # just before it (RabbitMQ 3.10 / Ra 2.2), which is not what this test is about.
    time.sleep(1.0)
    beam = private_rabbit.os_pid

    private_rabbit.kill9()
    assert not private_rabbit.running()
    with pytest.raises(ProcessLookupError):
        os.kill(beam, 0)
    # The system broker is another node and another process: still up.
    pika.BlockingConnection(pika.URLParameters("amqp://guest:guest@127.0.0.1:5672/%2F")).close()

    seconds = private_rabbit.start()
    figures("PRIVATE-RABBIT-RESTART", {"restart_seconds_to_await_startup": round(seconds, 2),
                                       "first_start_seconds": round(private_rabbit.start_seconds[0], 2)})
    connection = pika.BlockingConnection(pika.URLParameters(private_rabbit.amqp_url))
    try:
        channel = connection.channel()
        bodies = []

        def drain():
            while len(bodies) < 20:
                method, _props, body = channel.basic_get("survivor", auto_ack=True)
                if method is None:
                    return False
                bodies.append(body.decode())
            return True

        wait_until(drain, timeout=30, interval=0.2, message=f"only {len(bodies)} of 20 messages came back")
        assert bodies == [f"m{i}" for i in range(20)]
    finally:
        connection.close()
