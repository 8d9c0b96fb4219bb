"""The engine's transaction-boundary behaviour seen from a client session:
NOTIFY at commit and PREPARE TRANSACTION (suite 20-engine).

Each test talks to the database named by OPENRISK_ENGINE_DSN, which the
suite creates fresh with the extension installed.  A listener session
LISTENs on openrisk_cache while a writer session queues invalidations.
"""
import json
import os
import select
import time

import psycopg
import pytest

DSN = os.environ.get("OPENRISK_ENGINE_DSN", "dbname=openrisk_engine_test")
CHANNEL = "openrisk_cache"


@pytest.fixture
def listener():
    conn = psycopg.connect(DSN, autocommit=True)
    conn.got = []
    conn.add_notify_handler(conn.got.append)
    conn.execute("LISTEN " + CHANNEL)
    yield conn
    conn.close()


def received(conn, wait=1.5):
    """Every notification that arrives within `wait` seconds (psycopg
    delivers them to the handler while it processes a query's result, so
    the socket is watched and a trivial query run when it is readable)."""
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        if select.select([conn.fileno()], [], [], left)[0]:
            conn.execute("SELECT 1")
    return list(conn.got)


def run_writer(statements, commit=True):
    with psycopg.connect(DSN) as w:
        for s in statements:
            w.execute(s)
        if commit:
            w.commit()
        else:
            w.rollback()


def test_one_notify_per_commit_naming_each_pattern_once(listener):
    run_writer(["SELECT openrisk.cache_invalidate('n:a:*')",
                "SELECT openrisk.cache_invalidate('n:a:*')",
                "SELECT openrisk.cache_invalidate('n:b:1')"])
    got = [n for n in received(listener) if n.channel == CHANNEL]
    assert len(got) == 1, got
    payload = json.loads(got[0].payload)
    assert payload["count"] == 2
    assert sorted(payload["patterns"]) == ["n:a:*", "n:b:1"]
    assert payload["truncated"] is False


def test_rollback_sends_no_notify(listener):
    run_writer(["SELECT openrisk.cache_invalidate('n:c:*')"], commit=False)
    assert received(listener) == []


def test_prepare_transaction_with_pending_invalidations_is_refused():
    with psycopg.connect(DSN, autocommit=True) as c:
        c.execute("BEGIN")
        c.execute("SELECT openrisk.cache_invalidate('p:*')")
        with pytest.raises(psycopg.errors.FeatureNotSupported) as err:
            c.execute("PREPARE TRANSACTION 'openrisk_t'")
        assert "cannot PREPARE a transaction that invalidated" in str(err.value)
        c.execute("ROLLBACK")
        assert c.execute("SELECT count(*) FROM pg_prepared_xacts").fetchone()[0] == 0
