"""orlib -- what every reliability checker needs: the stack's settings,
development tokens and a minimal keep-alive HTTP client.

Why a module: the checkers (freshness, HTTP fuzzing, faults, security,
soak) must agree with tools/common.sh on where the stack lives, and must
mint tokens the gateway accepts (or deliberately does not) without
spawning a process per token.  The settings are read through
tools/common.sh itself so the checkers can never disagree with the
scripts that started the stack.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEMO_TENANT = "00000000-0000-4000-8000-000000000001"
DEMO_TENANT_B = "00000000-0000-4000-8000-000000000002"


def settings():
    """The current environment's stack (OPENRISK_* overrides honoured)."""
    keys = ["run_dir", "socket", "pgport", "http_port", "metrics_port", "log_dir", "db"]
    out = subprocess.run(
        ["bash", "-c", '. "$1/tools/common.sh"; echo "$OPENRISK_RUN_DIR|$PG_SOCKET_DIR|$OPENRISK_PGPORT|'
         '$OPENRISK_HTTP_PORT|$OPENRISK_METRICS_PORT|$LOG_DIR|$OPENRISK_DB"', "_", ROOT],
        check=True, capture_output=True, text=True).stdout.strip().split("|")
    s = dict(zip(keys, out))
    s["dsn"] = "host=%s port=%s dbname=%s user=postgres" % (s["socket"], s["pgport"], s["db"])
    s["secret_file"] = os.path.join(s["run_dir"], "jwt.secret")
    return s


def dsn_for(s, db):
    return "host=%s port=%s dbname=%s user=postgres" % (s["socket"], s["pgport"], db)


def read_secret(path):
    with open(path) as f:
        return f.read().strip()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def craft_token(secret, claims, header=None, key=None):
    """A compact JWT with any header and claims, HS256-signed with key (default secret)."""
    header = header if header is not None else {"alg": "HS256", "typ": "JWT"}
    signing = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    sig = hmac.new((key or secret).encode(), signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url(sig)


def token(secret, role, tenant, ttl=3600, sub="reliability"):
    return craft_token(secret, {"sub": sub, "tenant_id": tenant, "role": role,
                                "exp": int(time.time()) + ttl})


class Http:
    """One keep-alive connection to the gateway; reconnects when the server closed it."""

    def __init__(self, host, port, timeout=10):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None

    def request(self, method, path, headers=None, body=None):
        """(status, headers dict lower-cased, body bytes); retries once on a stale keep-alive."""
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if hdrs.get("connection", "").lower() == "close":
                    self.close()
                return r.status, hdrs, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def metrics(port, host="127.0.0.1"):
    """The gateway's /metrics as {series: value} (labels kept in the name)."""
    h = http.client.HTTPConnection(host, port, timeout=5)
    h.request("GET", "/metrics")
    text = h.getresponse().read().decode()
    h.close()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            try:
                out[name] = float(value)
            except ValueError:
                pass
    return out


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0
