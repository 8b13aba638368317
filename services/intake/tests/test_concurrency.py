"""Concurrent filings: distinct keys get distinct sequential codes; one key gets one dossier."""
import threading
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from servicekit import idempotency

from intake import api
from intake.models import dossiers, idempotency_keys, outbox

THREADS = 8


def file_at_once(app, file_dossier, keys):
    """Each thread has its own test client; the barrier releases them together so the transactions overlap."""
    barrier = threading.Barrier(len(keys))

    def one(key):
        client = app.test_client()
        barrier.wait(timeout=10)
        return file_dossier(key=key, target=client)

    with ThreadPoolExecutor(max_workers=len(keys)) as pool:
        return list(pool.map(one, keys))


def count(db, table):
    with db.transaction(readonly=True) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_concurrent_filings_with_distinct_keys_get_distinct_sequential_codes(app, db, file_dossier):
    responses = file_at_once(app, file_dossier, [f"key-{i}" for i in range(THREADS)])
    assert [r.status_code for r in responses] == [201] * THREADS
    numbers = sorted(int(r.get_json()["code"].rsplit("-", 1)[1]) for r in responses)
    assert numbers == list(range(1, THREADS + 1))
    assert count(db, dossiers) == count(db, outbox) == THREADS


def test_concurrent_filings_with_one_key_create_one_dossier(app, db, file_dossier):
    responses = file_at_once(app, file_dossier, ["same-key"] * THREADS)
    assert [r.status_code for r in responses] == [201] * THREADS
    assert len({r.get_data() for r in responses}) == 1  # every caller gets the one answer, token included
    assert count(db, dossiers) == count(db, outbox) == count(db, idempotency_keys) == 1


def test_a_reused_key_is_caught_by_its_primary_key_rolled_back_and_replayed(app, db, file_dossier, monkeypatch):
    first = file_dossier(key="raced").get_json()
    # The filing path does not look the key up first: it files, and the key's primary key refuses the
    # second answer at the end of the transaction (exactly what a concurrent request with the key meets).
    real_find, calls = idempotency.find_replay, []

    def counting_find_replay(*args, **kwargs):
        calls.append(1)
        return real_find(*args, **kwargs)

    monkeypatch.setattr(api, "find_replay", counting_find_replay)
    again = file_dossier(key="raced")
    assert again.status_code == 201 and again.get_json() == first and len(calls) == 1
    assert count(db, dossiers) == count(db, outbox) == 1
