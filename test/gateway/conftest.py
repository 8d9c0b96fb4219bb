"""Fixtures for the gateway integration tests.

The stack under test is the one `make run` / `make test` started for the
current environment (OPENRISK_RUN_DIR, OPENRISK_PGPORT, OPENRISK_HTTP_PORT,
...; read through tools/common.sh so the tests can never disagree with the
scripts).  Tests that need special settings (tiny pool, restarts, SIGTERM)
start their own gateway on free loopback ports and stop it themselves.

The contract (docs/openapi.yaml) is enforced from outside: when
OPENRISK_TEST_BASE_URL names a validating proxy (Stoplight Prism, started by
test/suites/41-gateway-integration.sh in front of the shared gateway), every
HTTP request of these tests goes through it, and so do private gateways'
(each gets its own proxy: OPENRISK_CONTRACT_PROXY=1).  The proxy marks each
reply that the document does not describe with an `sl-violations` header;
a test with any response-side violation fails (check_contract below), and
the suite counts them all again from the proxies' logs.  Replies no
operation owns (404 for an unknown path, 405 for an unknown method: the proxy
only warns "Selected route not found") are checked against the document's
`x-unrouted-responses` (unrouted.py).  Tests about the
TCP connection itself (pipelining, framing, Connection: close) talk to the
gateway directly (DIRECT_BASE, S["http_port"]): a proxy would re-frame them.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import subprocess
import time

import psycopg
import pytest
import requests

from unrouted import Unrouted

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
DIRECT_BASE = "http://127.0.0.1:%s" % S["http_port"]
BASE = os.environ.get("OPENRISK_TEST_BASE_URL") or DIRECT_BASE
API = BASE + "/api/v1"
METRICS = "http://127.0.0.1:%s/metrics" % S["metrics_port"]
DSN = "host=%s port=%s dbname=%s user=postgres" % (S["socket"], S["pgport"], S["db"])
# what the gateways connect as: their own role, never the superuser
GATEWAY_DSN = "host=%s port=%s dbname=%s user=%s" % (S["socket"], S["pgport"], S["db"],
                                                      os.environ.get("OPENRISK_GATEWAY_ROLE", "openrisk_gateway"))
CONTRACT = os.path.join(ROOT, "test", "contract")
SPEC = os.path.join(ROOT, "docs", "openapi.yaml")
PRISM = os.path.join(CONTRACT, "node_modules", ".bin", "prism")
PROXY_PRIVATE = os.environ.get("OPENRISK_CONTRACT_PROXY") == "1"
PRISM_LOGS = os.path.join(S["log_dir"], "prism")  # suite 41 counts the violations of *-shared / *-private.log here
UNROUTED = Unrouted(SPEC)
PROXY_BASES = {BASE} if BASE != DIRECT_BASE else set()  # the validating proxies' URLs (theirs are checked by them)


# ---- the contract: every reply is checked by the validating proxy ----------

VIOLATIONS = []  # (method, url, status, violation) of the current test
# PostgreSQL's (or json-c's) own wording: never in an error message
RAW_DB_TEXT = re.compile(r"invalid input syntax|violates .*constraint|relation \"|column \"|does not exist|"
                         r"syntax error at or near|permission denied for|duplicate key|out of range for type|"
                         r"Unicode escape|: continue$|SQLSTATE|CONTEXT:|LINE \d|DETAIL:|PL/pgSQL|"
                         r"object property name|array value separator")


def _record_violations(response, *args, **kwargs):
    header = response.headers.get("sl-violations")
    if header:
        for v in json.loads(header):
            if v.get("location", [""])[0] == "response":
                VIOLATIONS.append((response.request.method, response.request.url, response.status_code,
                                   v.get("message")))
            elif v.get("message") == "Selected route not found":  # no operation owns it: x-unrouted-responses
                try:
                    body = response.json()
                except ValueError:
                    body = None
                for problem in UNROUTED.errors(response.status_code, response.headers, body):
                    VIOLATIONS.append((response.request.method, response.request.url, response.status_code,
                                       "unrouted reply: " + problem))
    elif (response.status_code >= 400 and "/api/v1/" in response.url
          and not any(response.url.startswith(base) for base in PROXY_BASES)):  # straight to a gateway
        try:
            body = response.json()
        except ValueError:
            body = None
        shared = UNROUTED.shared_error(response.status_code)
        for problem in UNROUTED.errors(response.status_code, response.headers, body, shared) if shared else \
                ["no shared response for status %d" % response.status_code]:
            VIOLATIONS.append((response.request.method, response.request.url, response.status_code,
                               "direct reply: " + problem))
    if response.status_code >= 400 and response.headers.get("Content-Type", "").startswith("application/json"):
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = None
        if message and RAW_DB_TEXT.search(message):
            VIOLATIONS.append((response.request.method, response.request.url, response.status_code,
                               "database text in the error message: %r" % message))
    return response


_original_request = requests.Session.request


def _checked_request(self, method, url, **kwargs):
    hooks = kwargs.pop("hooks", None) or {}
    response_hooks = hooks.get("response", [])
    if callable(response_hooks):
        response_hooks = [response_hooks]
    hooks["response"] = list(response_hooks) + [_record_violations]
    return _original_request(self, method, url, hooks=hooks, **kwargs)


requests.Session.request = _checked_request


@pytest.fixture(autouse=True)
def check_contract():
    """Fail a test whose requests got a reply the contract does not describe."""
    del VIOLATIONS[:]
    yield
    found = list(VIOLATIONS)
    del VIOLATIONS[:]
    assert not found, "replies that docs/openapi.yaml does not describe, or database text: %s" % found[:5]


class ContractProxy:
    """A Prism validating proxy in front of upstream, on a free loopback port."""

    def __init__(self, upstream, log_path, spec=SPEC):
        self.port = free_port()
        self.base = "http://127.0.0.1:%d" % self.port
        PROXY_BASES.add(self.base)
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen([PRISM, "proxy", spec, upstream, "--port", str(self.port), "--host", "127.0.0.1",
                                      "--cors=false", "--errors=false"], stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=CONTRACT)
        for _ in range(600):
            if self.proc.poll() is not None:
                raise RuntimeError("prism exited: see " + log_path)
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("prism did not start: see " + log_path)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
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
            if requests.get(DIRECT_BASE + "/ready", timeout=1).status_code == 200:
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
        self.direct = "http://127.0.0.1:%d" % self.port
        self.base = self.direct  # the validating proxy's, once started (below)
        self.proxy = None
        self.log_path = os.path.join(S["log_dir"], "gateway-test-%d.log" % self.port)
        env = dict(os.environ, OPENRISK_DSN=GATEWAY_DSN, OPENRISK_JWT_SECRET_FILE=SECRET_FILE,
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
                requests.get(self.direct + "/health", timeout=1)
                if self.proc.poll() is None:
                    if PROXY_PRIVATE:
                        self.proxy = ContractProxy(self.direct, os.path.join(PRISM_LOGS, "prism-private.log"))
                        self.base = self.proxy.base
                    return
            except requests.RequestException:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("gateway did not start: see " + self.log_path)

    def stop(self, timeout=15):
        if self.proxy:
            self.proxy.stop()
            self.proxy = None
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
