"""tools/lib/bench_stack.py -- what the HTTP benchmarks need from the stack.

`make bench` (tools/lib/bench_run.py) and `make bench-http`
(tools/lib/bench_http.py) both load the gateway of the stack `make run`
started, with the same OPENRISK_* settings (tools/common.sh exports them
before the thin shell entry points exec Python).  Kept here, once:

  * the settings and the two ways out (say / die), worded like the shell
    scripts' so messages stay the same;
  * the checks made before loading anything (wrk present, stack answering);
  * the SQL connection (psycopg, autocommit: ALTER SYSTEM needs it);
  * the shared ceiling gateway (../shared/ref/ceiling-gateway.c, beside the
    clone, never copied into the repo), built the same way, run with the
    gateway's pool size and the very statement the gateway prepares for
    GET /api/v1/stats -- the only fair measuring stick.

Everything targets 127.0.0.1.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psycopg

ENV = os.environ
ROOT = ENV.get("ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PGBIN = ENV.get("PGBIN", "/usr/lib/postgresql/15/bin")
PGPORT = ENV.get("OPENRISK_PGPORT", "55432")
DB = ENV.get("OPENRISK_DB", "openrisk")
HTTP_PORT = ENV.get("OPENRISK_HTTP_PORT", "8080")
RUN_DIR = ENV.get("OPENRISK_RUN_DIR", os.path.join(ROOT, ".run"))
PGDATA_DIR = ENV.get("PGDATA_DIR", os.path.join(RUN_DIR, "pgdata"))
SOCKET_DIR = ENV.get("PG_SOCKET_DIR", os.path.join(RUN_DIR, "socket"))
LOG_DIR = ENV.get("LOG_DIR", os.path.join(RUN_DIR, "log"))
TENANT = ENV.get("BENCH_TENANT", "00000000-0000-4000-8000-000000000001")
# the gateway binary: OPENRISK_GATEWAY_BIN as tools/common.sh sets it (the
# sanitizer build points it elsewhere), else the one `make` builds
GW_BIN = ENV.get("OPENRISK_GATEWAY_BIN") or os.path.join(ROOT, "gateway", "openrisk-gateway")
CEILING_SRC = ENV.get("CEILING_SRC", os.path.join(ROOT, "..", "shared", "ref", "ceiling-gateway.c"))
DSN = f"host={SOCKET_DIR} port={PGPORT} dbname={DB} user=postgres"
BASE = f"http://127.0.0.1:{HTTP_PORT}"


class Fatal(Exception):
    """A refusal with a sentence naming the fix; main() prints it as error:."""


def say(msg):
    print(f"==> {msg}", file=sys.stderr, flush=True)


def die(msg):
    raise Fatal(msg)


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def require_wrk():
    """wrk is a Debian package; say how to get it rather than failing later."""
    if not shutil.which("wrk"):
        die("wrk is not installed: apt-get install wrk (or run 'make deps', which installs every package the project needs)")


def http_get(url, token=None, timeout=5):
    """(status, headers) of one GET; (None, {}) when nothing answers."""
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status, r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.headers
    except (OSError, ValueError):
        return None, {}


def require_stack():
    """Refuse (with the command that fixes it) unless PostgreSQL and the
    gateway of this stack both answer."""
    try:
        psycopg.connect(DSN, connect_timeout=3).close()
    except psycopg.Error:
        die(f"PostgreSQL of this stack is not running (port {PGPORT}, run dir {RUN_DIR}): "
            "start it with 'make run' using the same OPENRISK_* settings")
    if http_get(f"{BASE}/ready", timeout=3)[0] != 200:
        die(f"the gateway of this stack does not answer on {BASE}/ready: "
            "start it with 'make run' using the same OPENRISK_* settings")


class Db:
    """One autocommit connection; sql() returns the first column of each row."""

    def __init__(self):
        self.conn = psycopg.connect(DSN, autocommit=True)

    def rows(self, query, params=None):
        with self.conn.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else []

    def value(self, query, params=None):
        rows = self.rows(query, params)
        return rows[0][0] if rows else None

    def close(self):
        self.conn.close()


def gateway_pid():
    with open(os.path.join(RUN_DIR, "gateway.pid")) as f:
        return int(f.read().split()[0])


def postmaster_pid():
    with open(os.path.join(PGDATA_DIR, "postmaster.pid")) as f:
        return int(f.readline())


def gateway_pool_size():
    """The gateway's pool size, as it logged it at start-up (development: 10)."""
    n = None
    try:
        with open(os.path.join(LOG_DIR, "gateway.log"), errors="replace") as f:
            for line in f:
                m = re.search(r"pool [a-z]*: (\d+) open", line)
                if m:
                    n = int(m.group(1))
    except OSError:
        pass
    return n or 10


def token(role, tenant=TENANT):
    r = subprocess.run([os.path.join(ROOT, "tools", "token.sh"), role, tenant], capture_output=True, text=True)
    if r.returncode != 0:
        die(f"tools/token.sh {role} failed: {r.stderr.strip()}")
    return r.stdout.strip()


def stats_sql(tenant, period):
    """The statement the gateway prepares for GET /api/v1/stats, its two
    parameters inlined as literals (the ceiling runs it without parameters)."""
    try:
        r = subprocess.run([GW_BIN, "sql", "GET", "/api/v1/stats"], capture_output=True, text=True)
    except OSError as e:
        die(f"cannot run the gateway binary {GW_BIN} ({e.strerror}): build it with 'make'")
    if r.returncode != 0:
        die("openrisk-gateway sql GET /api/v1/stats failed")
    return r.stdout.strip().replace("$1", f"'{tenant}'", 1).replace("$2", f"'{period}'", 1)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def warm_up(url, token=None, times=2):
    """Fill a cache entry (and the pool's plans): GET url a few times."""
    for _ in range(times):
        http_get(url, token)


def is_cache_hit(url, token):
    return http_get(url, token)[1].get("X-Cache", "").upper().startswith("HIT")


class Ceiling:
    """The shared ceiling gateway: built into the run folder (again only when
    its source is newer), started with SQL and POOL connections and 64
    threads like the gateway; stop() is safe to call twice."""

    def __init__(self):
        self.proc = None
        self.url = None

    def build(self):
        if not os.path.isfile(CEILING_SRC):
            die(f"ceiling source not found at {CEILING_SRC} (expected shared/ beside the clone)")
        binary = os.path.join(RUN_DIR, "ceiling-gateway")
        if not os.access(binary, os.X_OK) or os.path.getmtime(CEILING_SRC) > os.path.getmtime(binary):
            flags = subprocess.run(["pkg-config", "--cflags", "--libs", "libpq"],
                                   capture_output=True, text=True).stdout.split()
            if subprocess.run(["cc", "-O2", "-o", binary, CEILING_SRC, *flags, "-lcivetweb", "-lpthread"]).returncode:
                die(f"could not build {CEILING_SRC}")
        return binary

    def start(self, sql, pool):
        binary = self.build()
        port = ENV.get("CEILING_PORT") or str(free_port())
        env = dict(ENV, CEILING_DSN=DSN, CEILING_SQL=sql, CEILING_PORT=port,
                   CEILING_POOL=str(pool), CEILING_THREADS="64")
        log = open(os.path.join(LOG_DIR, "ceiling-gateway.log"), "w")
        self.proc = subprocess.Popen([binary], env=env, stderr=log, stdout=subprocess.DEVNULL,
                                     start_new_session=True)
        log.close()
        self.url = f"http://127.0.0.1:{port}/q"
        for _ in range(50):
            if http_get(self.url, timeout=1)[0] == 200:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        with open(os.path.join(LOG_DIR, "ceiling-gateway.log"), errors="replace") as f:
            sys.stderr.writelines(f.readlines()[-3:])
        die(f"the ceiling gateway did not answer on {self.url}")

    @property
    def pid(self):
        return self.proc.pid

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


def stop_process(proc, sig=signal.SIGTERM, grace=5):
    """Signal a child and reap it; SIGKILL if it lingers past grace seconds."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        except ProcessLookupError:
            pass


def exit_on_signals():
    """SIGTERM and SIGINT become SystemExit (143, 130), so every `finally`
    runs -- the cache switch is put back whichever way the run ends."""
    def handler(signum, _frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_main(main):
    """Call main(); a Fatal becomes 'error: ...' and exit 1, no traceback."""
    exit_on_signals()
    try:
        sys.exit(main() or 0)
    except Fatal as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
