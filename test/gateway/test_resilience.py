"""Pool and process behaviour under stress: acquire timeout, PostgreSQL
restart and recovery, broken connections, reaping, and SIGTERM draining.

Each test runs its own gateway (free loopback ports) so its settings cannot disturb the shared one; the
PostgreSQL restart test restarts this stack's cluster and waits for it.
"""
import os
import re
import subprocess
import threading
import time

import psycopg
import requests

from conftest import API, BASE, DSN, ROOT, TENANT_A, auth, mint

CLUSTER = os.path.join(ROOT, "tools", "cluster.sh")


def metric(gw, name):
    text = requests.get("http://127.0.0.1:%d/metrics" % gw.metrics_port, timeout=5).text
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    return float(m.group(1)) if m else None


def wait_for(cond, timeout=10.0, step=0.05):
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(step)
    return False


class BlockedWrite:
    """A POST /risks stuck behind an exclusive lock, holding one pooled connection."""

    def __init__(self, gw, token):
        self.lock_conn = psycopg.connect(DSN)
        self.lock_conn.execute("LOCK TABLE openrisk.risks IN ACCESS EXCLUSIVE MODE")
        self.response = None
        self.thread = threading.Thread(target=self._post, args=(gw, token))
        self.thread.start()

    def _post(self, gw, token):
        self.response = requests.post(gw.base + "/api/v1/risks", headers=auth(token), timeout=30,
                                      json={"title": "blocked write", "impact": 2, "probability": 2})

    def release(self):
        self.lock_conn.rollback()
        self.lock_conn.close()
        self.thread.join(30)
        return self.response


def test_pool_timeout_is_503_with_retry_after(private_gateway):
    gw = private_gateway("--pool-max-open=1", "--pool-acquire-timeout=300ms")
    token = mint("analyst")
    blocked = BlockedWrite(gw, token)
    try:
        assert wait_for(lambda: metric(gw, "openrisk_pool_connections_in_use") == 1
                        and metric(gw, "openrisk_pool_waiting") == 0)
        time.sleep(0.2)
        t0 = time.time()
        r = requests.get(gw.base + "/api/v1/stats", headers=auth(token), timeout=10)
        elapsed = time.time() - t0
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "pool_timeout"
        assert r.headers["Retry-After"] == "1"
        assert 0.25 <= elapsed < 3, elapsed
        assert metric(gw, "openrisk_pool_acquire_timeouts_total") >= 1
    finally:
        response = blocked.release()
    assert response is not None and response.status_code == 201


def test_broken_connections_are_replaced(private_gateway, db):
    gw = private_gateway()
    token = mint("viewer")
    assert requests.get(gw.base + "/api/v1/stats", headers=auth(token)).status_code == 200
    db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
               "WHERE application_name = 'openrisk-gateway' AND pid <> pg_backend_pid()")
    # the read is retried once on a fresh connection: the client sees no error
    r = requests.get(gw.base + "/api/v1/stats", headers=auth(token))
    assert r.status_code == 200, r.text
    assert metric(gw, 'openrisk_pool_connections_closed_total{reason="broken"}') >= 1
    assert requests.get(BASE + "/health").status_code == 200


def test_idle_and_lifetime_reaping(private_gateway):
    gw = private_gateway("--pool-max-lifetime=1s", "--pool-max-idle-time=1s")
    token = mint("viewer")
    assert requests.get(gw.base + "/api/v1/stats", headers=auth(token)).status_code == 200
    assert wait_for(lambda: (metric(gw, 'openrisk_pool_connections_closed_total{reason="idle"}') or 0)
                    + (metric(gw, 'openrisk_pool_connections_closed_total{reason="lifetime"}') or 0) >= 1,
                    timeout=5)
    assert requests.get(gw.base + "/api/v1/stats", headers=auth(token)).status_code == 200


def test_postgres_restart_503_then_recovery(private_gateway):
    gw = private_gateway()
    token = mint("viewer")
    assert requests.get(gw.base + "/api/v1/stats", headers=auth(token)).status_code == 200
    subprocess.run([CLUSTER, "stop"], check=True, capture_output=True)
    try:
        for path in ("/api/v1/stats", "/api/v1/risks"):
            t0 = time.time()
            r = requests.get(gw.base + path, headers=auth(token), timeout=10)
            assert r.status_code == 503, r.text
            assert r.json()["error"]["code"] in ("database_unavailable", "unavailable")
            assert "Retry-After" in r.headers
            assert time.time() - t0 < 2
        assert requests.get(gw.base + "/health").status_code == 503
        assert requests.get(gw.base + "/ready").status_code == 503
    finally:
        subprocess.run([CLUSTER, "start"], check=True, capture_output=True)
    # service resumes by itself, for this gateway and the shared one
    for base in (gw.base, BASE):
        assert wait_for(lambda: requests.get(base + "/api/v1/stats", headers=auth(token)).status_code == 200,
                        timeout=20, step=0.2), base
    assert requests.get(gw.base + "/ready").status_code == 200
    assert gw.proc.poll() is None


def test_sigterm_drains_in_flight_request(private_gateway):
    gw = private_gateway()
    token = mint("analyst")
    blocked = BlockedWrite(gw, token)
    try:
        assert wait_for(lambda: metric(gw, "openrisk_pool_connections_in_use") == 1)
        gw.proc.terminate()
        time.sleep(0.7)
        assert gw.proc.poll() is None, "exited before its in-flight request finished"
        # no new work is accepted while draining
        r = requests.get(gw.base + "/api/v1/stats", headers=auth(token), timeout=2)
        assert r.status_code == 503 and r.json()["error"]["code"] == "shutting_down"
        assert r.headers["Retry-After"] == "1"
        r = requests.get(gw.direct + "/api/v1/stats", headers=auth(token), timeout=2)  # the connection itself
        assert r.status_code == 503 and r.headers["Connection"] == "close"
    finally:
        response = blocked.release()
    assert response is not None and response.status_code == 201, response
    assert gw.proc.wait(12) == 0
    log = open(gw.log_path).read()
    assert "draining" in log and "stopped" in log
