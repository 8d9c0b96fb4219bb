"""Fixtures for the gateway integration tests.

The stack under test is the one `make run` / `make test` started for the
current environment (OPENRISK_RUN_DIR, OPENRISK_PGPORT, OPENRISK_HTTP_PORT,
...; read through tools/common.sh so the tests can never disagree with the
scripts).  Tests that need special settings (tiny pool, restarts, SIGTERM)
start their own gateway on free loopback ports and stop it themselves.
"""
import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import time

import psycopg
import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _settings():
    out = subprocess.run(
        ["bash", "-c", '. "$1/tools/common.sh"; echo "$OPENRISK_RUN_DIR|$PG_SOCKET_DIR|$OPENRISK_PGPORT|'
         '$OPENRISK_HTTP_PORT|$OPENRISK_METRICS_PORT|$LOG_DIR|$OPENRISK_DB|$OPENRISK_GATEWAY_BIN"', "_", ROOT],
        check=True, capture_output=True, text=True).stdout.strip().split("|")
    keys = ["run_dir", "socket", "pgport", "http_port", "metrics_port", "log_dir", "db", "gateway_bin"]
    return dict(zip(keys, out))


S = _settings()
GW_BIN = S["gateway_bin"]  # OPENRISK_GATEWAY_BIN (tools/common.sh)
SECRET_FILE = os.path.join(S["run_dir"], "jwt.secret")
BASE = "http://127.0.0.1:%s" % S["http_port"]
API = BASE + "/api/v1"
METRICS = "http://127.0.0.1:%s/metrics" % S["metrics_port"]
DSN = "host=%s port=%s dbname=%s user=postgres" % (S["socket"], S["pgport"], S["db"])
TENANT_A = "00000000-0000-4000-8000-000000000001"
TENANT_B = "00000000-0000-4000-8000-000000000002"


def secret():
    with open(SECRET_FILE) as f:
        return f.read().strip()


def mint(role, tenant=TENANT_A, sub=None):
    env = dict(os.environ, OPENRISK_JWT_SECRET_FILE=SECRET_FILE)
    return subprocess.run([GW_BIN, "token", "--role", role, "--tenant", tenant] + (["--sub", sub] if sub else []),
                          env=env, check=True, capture_output=True, text=True).stdout.strip()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def craft(header, payload, key=None):
    """A token with any header and claims, signed HS256 with key (default: the stack's secret)."""
    key = (key or secret()).encode()
    signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(payload).encode())
    sig = hmac.new(key, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url(sig)


def auth(token):
    return {"Authorization": "Bearer " + token}


@pytest.fixture(scope="session")
def tokens():
    return {r: mint(r) for r in ("viewer", "analyst", "admin")}


@pytest.fixture(scope="session")
def tokens_b():
    return {r: mint(r, TENANT_B) for r in ("viewer", "analyst", "admin")}


@pytest.fixture(scope="session")
def db():
    conn = psycopg.connect(DSN, autocommit=True)
    yield conn
    conn.close()


@pytest.fixture(scope="session", autouse=True)
def stack_is_up():
    for _ in range(50):
        try:
            if requests.get(BASE + "/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail("the gateway at %s is not ready: run `make run` (or make test) first" % BASE)


def free_port():
    """A loopback port nobody listens on right now (other stacks share the machine)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gateway:
    """A private gateway process with its own settings, on loopback."""

    def __init__(self, *args):
        self.port = free_port()
        self.metrics_port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        self.log_path = os.path.join(S["log_dir"], "gateway-test-%d.log" % self.port)
        env = dict(os.environ, OPENRISK_DSN=DSN, OPENRISK_JWT_SECRET_FILE=SECRET_FILE,
                   OPENRISK_LISTEN="127.0.0.1:%d" % self.port,
                   OPENRISK_METRICS_LISTEN="127.0.0.1:%d" % self.metrics_port)
        env.pop("OPENRISK_JWT_SECRET", None)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([GW_BIN] + list(args), env=env, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        for _ in range(100):
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited: see " + self.log_path)
            try:
                requests.get(self.base + "/health", timeout=1)
                if self.proc.poll() is None:
                    return
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("gateway did not start: see " + self.log_path)

    def stop(self, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def private_gateway():
    started = []

    def start(*args):
        g = Gateway(*args)
        started.append(g)
        return g

    yield start
    for g in started:
        g.stop()
