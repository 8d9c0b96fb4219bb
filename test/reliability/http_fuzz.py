#!/usr/bin/python3
"""http_fuzz.py -- hostile HTTP against a running gateway, on loopback.

Why: the libFuzzer targets cover the gateway's own parsers; this covers
everything between the socket and them (civetweb's request parsing, body
reading, keep-alive, error replies) and the SQL behind them, end to end.

Each request is built at random from: methods (real, lower-case, garbage,
huge), paths (every route with mutated segments, percent-encoding valid /
invalid / %00, dot segments, invalid UTF-8, 10 kB paths), query strings
(route parameters with SQL-injection strings, random bytes, duplicates),
headers (valid / alg-none / garbage / truncated tokens, huge and numerous
headers, bad Content-Length, chunked bodies, invalid UTF-8), bodies
(valid risks, random bytes, oversize, truncated), and delivery (at once,
slow sender in pieces, truncated and half-closed).

Every reply must be a well-formed HTTP/1.x response: status line, headers,
Content-Length matching the body (none on HEAD, 204, 304), a JSON body
(valid UTF-8) with {"error":{"code","message"}} on every 4xx/5xx, never a
500, within a deadline (else: a hang).  A complete request answered by a
bare close is counted as noreply (allowed only for the request-target
forms civetweb drops: asterisk- and absolute-form).  The gateway must
stay alive (pid) and healthy (/health) throughout.

A second reply after one that said "Connection: close" is counted as
reply_after_close and fails the run (defect 3, fixed: civetweb kept the
connection and served what followed an unread body); any other second
reply is malformed unless the request carried bytes past its declared
body on a kept HTTP/1.1 connection (a pipelined next request).

Last line: HTTPFUZZ requests=N crashes=N hangs=N malformed=N status500=N
noreply=N bad_noreply=N refused=N reply_after_close=N seconds=S; exit 0
only when crashes, hangs, malformed, status500, bad_noreply, refused and
reply_after_close are 0.
"""
import argparse
import json
import multiprocessing as mp
import os
import random
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orlib  # noqa: E402

INJECTIONS = ["' OR '1'='1", "'; DROP TABLE openrisk.risks; --", "1; SELECT pg_sleep(5)", "\\x00", "%27%20OR%201=1",
              "$1", "') UNION SELECT * FROM pg_authid --", "risk:list:*", "*", "00000000-0000-4000-8000-000000000002",
              "{\"a\":1}", "NaN", "-1", "99999999999999999999", "1e309", "title", "score desc; --"]
PATHS = ["/api/v1/risks", "/api/v1/risks/search", "/api/v1/risks/matrix", "/api/v1/risks/{id}", "/api/v1/stats",
         "/api/v1/stats/risk-matrix", "/api/v1/stats/trends", "/api/v1/marketplace/connectors",
         "/api/v1/marketplace/connectors/{id}", "/api/v1/marketplace/apps/{id}", "/api/v1/cache/stats",
         "/api/v1/cache/invalidate", "/health", "/ready", "/", "/metrics", "/api", "/api/v1"]
PARAMS = ["page", "page_size", "severity", "status", "q", "sort_by", "sort_dir", "period", "days", "category",
          "tenant_id", "id"]
METHODS = ["GET"] * 6 + ["POST"] * 3 + ["PATCH"] * 2 + ["DELETE", "PUT", "HEAD", "OPTIONS", "TRACE", "get",
                                                            "CONNECT", "PROPFIND", "G\x00T", "X" * 300, ""]


def rand_bytes(rng, n):
    return bytes(rng.randrange(256) for _ in range(n))


def pct(rng, s):
    """Percent-encode some characters of s, sometimes badly."""
    out = []
    for ch in s:
        r = rng.random()
        if r < 0.1:
            out.append("%%%02X" % ord(ch) if ord(ch) < 256 else ch)
        elif r < 0.12:
            out.append(rng.choice(["%", "%z", "%zz", "%00", "%ff", "%2F", "%25", "+"]))
        else:
            out.append(ch)
    return "".join(out)


class Gen:
    def __init__(self, rng, tokens):
        self.rng, self.tokens = rng, tokens

    def value(self):
        r = self.rng.random()
        if r < 0.4:
            return self.rng.choice(INJECTIONS)
        if r < 0.6:
            return str(self.rng.choice([0, 1, 2, 20, 200, 201, -5, 365, 366]))
        if r < 0.8:
            return self.rng.choice(["HIGH", "low", "ACTIVE", "score", "desc", "all", "week", "x" * 600, "é", "\u202e"])
        return rand_bytes(self.rng, self.rng.randrange(1, 20)).decode("latin-1")

    def path(self):
        rng = self.rng
        p = rng.choice(PATHS).replace("{id}", rng.choice([
            "0b0e8d4c-1111-4222-8333-444455556666", orlib.DEMO_TENANT, "x", "a" * 200, "..", "%00", "%ff%fe",
            rng.choice(INJECTIONS), ""]))
        r = rng.random()
        if r < 0.1:
            p = p + rng.choice(["/", "//", "/..", "/./x", "/%2e%2e/", "/extra"])
        elif r < 0.15:
            p = "/" + "a/" * rng.randrange(1, 3000)
        elif r < 0.2:
            p = p.encode().decode() + rand_bytes(rng, 5).decode("latin-1")
        if rng.random() < 0.7:
            n = rng.randrange(0, 5)
            qs = "&".join("%s=%s" % (rng.choice(PARAMS), pct(rng, self.value())) for _ in range(n))
            if rng.random() < 0.1:
                qs += rng.choice(["&", "&&=", "=", "%", "a=%zz", "page=1&page=2"])
            if qs:
                p += "?" + qs
        return pct(rng, p) if rng.random() < 0.3 else p

    def auth(self):
        rng = self.rng
        r = rng.random()
        if r < 0.55:
            return "Bearer " + rng.choice(self.tokens["good"])
        if r < 0.75:
            return "Bearer " + rng.choice(self.tokens["bad"])
        if r < 0.85:
            t = rng.choice(self.tokens["good"])
            return "Bearer " + t[:rng.randrange(len(t))]
        if r < 0.9:
            return rng.choice(["Basic dXNlcjpwYXNz", "Bearer", "Bearer  ", "bearer x.y.z", "Bearer " + "A" * 5000])
        return None

    def body(self):
        rng = self.rng
        r = rng.random()
        if r < 0.4:
            d = {"title": self.value(), "impact": rng.choice([1, 3, 5, 0, 6, "3", 2.5, None]),
                 "probability": rng.randrange(-1, 7)}
            if rng.random() < 0.3:
                d[rng.choice(["status", "tags", "bogus", "asset_ids", "custom_fields"])] = rng.choice(
                    [[self.value()], self.value(), {"x": [1]}, 3])
            return json.dumps(d).encode()
        if r < 0.5:
            return json.dumps({"pattern": rng.choice(["risk:list:%s:*" % orlib.DEMO_TENANT, "*", "connector:*",
                                                      "risk:list:%s:*" % orlib.DEMO_TENANT_B, self.value()])}).encode()
        if r < 0.7:
            return rand_bytes(rng, rng.randrange(0, 300))
        if r < 0.8:
            return b'{"title": "\xff\xfe\xc3\x28"}'
        if r < 0.83:
            return b"{" + b'"a":' * rng.randrange(1000, 5000)
        if r < 0.85:
            return b'{"title":"' + b"x" * (1024 * 1024 + rng.randrange(1, 1000)) + b'"}'
        return b""

    def request(self):
        """(bytes to send, complete?, method, target-form)"""
        rng = self.rng
        method = rng.choice(METHODS)
        target = self.path()
        form = "origin"
        if rng.random() < 0.02:
            target, form = rng.choice([("*", "asterisk"), ("http://127.0.0.1/health", "absolute")])
        version = rng.choice(["HTTP/1.1"] * 18 + ["HTTP/1.0", "HTTP/2.0", "HTTP/1.1x", ""])
        headers = [("Host", "127.0.0.1")]
        a = self.auth()
        if a:
            headers.append(("Authorization", a))
        body = self.body() if method in ("POST", "PATCH", "PUT") or rng.random() < 0.05 else b""
        if body or rng.random() < 0.1:
            headers.append(("Content-Type", rng.choice(["application/json"] * 6 + ["text/plain", "application/json; charset=utf-8", "application/jsonx", ""])))
        chunked = body and rng.random() < 0.1
        if chunked:
            headers.append(("Transfer-Encoding", "chunked"))
        elif body or rng.random() < 0.05:
            cl = len(body)
            r = rng.random()
            if r < 0.05:
                cl = rng.choice([-1, "abc", "99999999999999999999", " 5", len(body) + 10])
            headers.append(("Content-Length", str(cl)))
        if rng.random() < 0.1:
            headers.append(("If-None-Match", rng.choice(['"0011223344556677"', "*", "garbage", '"' * 100])))
        if rng.random() < 0.05:
            headers.append(("X-Huge", "h" * rng.choice([1000, 9000, 70000])))
        if rng.random() < 0.03:
            headers += [("X-N%d" % i, "v") for i in range(rng.choice([50, 70, 200]))]
        if rng.random() < 0.03:
            headers.append(("X-Bad", rand_bytes(rng, 20).decode("latin-1").replace("\r", "").replace("\n", "")))
        if rng.random() < 0.7:
            headers.append(("Connection", "close"))
        head = "%s %s %s\r\n" % (method, target, version) + "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
        data = head.encode("latin-1", "replace")
        if chunked:
            data += b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n" if rng.random() < 0.8 else b"zz\r\n" + body
        else:
            data += body
        complete = True
        if rng.random() < 0.03:
            data = data[:rng.randrange(1, max(2, len(data)))]
            complete = False
        elif any(k == "Content-Length" and not str(v).isdigit() for k, v in headers):
            complete = False  # the server may wait for the declared body or refuse; both fine
        elif any(k == "Content-Length" and str(v).isdigit() and int(v) > len(body) for k, v in headers):
            complete = False
        return data, complete, method, form


RESP = re.compile(rb"^HTTP/1\.[01] (\d{3}) [^\r\n]*\r\n")


def read_reply(sock, deadline, method):
    """Read one reply: up to its Content-Length (no body after HEAD, 204, 304)."""
    buf = b""
    while time.time() < deadline:
        sock.settimeout(max(0.01, deadline - time.time()))
        try:
            d = sock.recv(65536)
        except socket.timeout:
            return buf, "timeout"
        except (ConnectionResetError, BrokenPipeError):
            return buf, "reset"
        if not d:
            return buf, "eof"
        buf += d
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            if method == "HEAD" or re.match(rb"HTTP/1\.[01] (204|304) ", buf):
                sock.settimeout(0.05)  # catch a body that should not be there
                try:
                    buf += sock.recv(65536)
                except (socket.timeout, OSError):
                    pass
                return buf, "complete"
            m = re.search(rb"\r\ncontent-length: *(\d+)", buf[:end + 2], re.I)
            if m and len(buf) >= end + 4 + int(m.group(1)):
                return buf, "complete"
    return buf, "timeout"


def pipelines(data):
    """Does data hold bytes after its first request (head + declared body) on
    an HTTP/1.1 connection the client keeps?  They are a next request, so a
    second reply is right, unless the first one said Connection: close.
    (The generator's Content-Length " 5" declares less than it sends.)"""
    end = data.find(b"\r\n\r\n")
    if end < 0 or not data[:data.find(b"\r\n")].endswith(b" HTTP/1.1"):
        return False
    head = data[:end + 2]
    if re.search(rb"\r\n(transfer-encoding|connection: *close)", head, re.I):
        return False
    m = re.search(rb"\r\ncontent-length: *(\d+) *\r\n", head, re.I)
    return len(data) > end + 4 + (int(m.group(1)) if m else 0)


def judge(buf, method, pipelined=False):
    """None when buf is a well-formed reply, else why not.  Returns (status, why).
    pipelined: the request carried a next one, whose reply may follow."""
    m = RESP.match(buf)
    if not m:
        return None, "bad status line %r" % buf[:80]
    status = int(m.group(1))
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return status, "no end of headers"
    head, body = buf[:end].decode("latin-1"), buf[end + 4:]
    cl = re.search(r"\r\ncontent-length: *(\d+)", head, re.I)
    if method == "HEAD" or status in (204, 304):
        # a request civetweb could not parse has no known method; with
        # Connection: close a body cannot desynchronise the connection
        if body and not re.search(r"\r\nconnection: *close", head, re.I):
            return status, "body on a HEAD/204/304 reply"
        return status, None
    if not cl:
        return status, "no Content-Length"
    if int(cl.group(1)) < len(body) and RESP.match(body[int(cl.group(1)):]):
        # a second reply: right for a pipelined next request on a kept
        # connection; after "Connection: close" it is reply_after_close (a
        # failure, defect 3).  The first reply is judged on its own.
        body = body[:int(cl.group(1))]
        if re.search(r"\r\nconnection: *close", head, re.I):
            status = -status
        elif not pipelined:
            return status, "a second reply on a connection that was not closed"
    if int(cl.group(1)) != len(body):
        return status, "Content-Length %s but %d bytes" % (cl.group(1), len(body))
    if abs(status) == 500:
        return status, "500"
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        return status, "body not JSON/UTF-8: %s %r" % (e, body[:80])
    if abs(status) >= 400:
        err = doc.get("error") if isinstance(doc, dict) else None
        if not (isinstance(err, dict) and isinstance(err.get("code"), str) and isinstance(err.get("message"), str)):
            return status, "error body without error.code/message: %r" % body[:120]
    return status, None


def send(sock, data, rng):
    """At once, or as a slow sender in small pieces (bounded to ~0.3 s)."""
    if rng.random() < 0.01:
        pieces = max(2, min(8, len(data)))
        step = max(1, len(data) // pieces)
        for i in range(0, len(data), step):
            sock.sendall(data[i:i + step])
            time.sleep(0.03)
    else:
        sock.sendall(data)


def worker(n, args, tokens, seed, out_q, deadline):
    rng = random.Random(seed)
    gen = Gen(rng, tokens)
    res = {"requests": 0, "hangs": 0, "malformed": 0, "status500": 0, "noreply": 0, "bad_noreply": 0,
           "refused": 0, "reply_after_close": 0, "codes": {}, "examples": []}

    def note(kind, what):
        res[kind] += 1
        if len(res["examples"]) < 8:
            res["examples"].append("%s: %s" % (kind, what))

    while res["requests"] < n and time.time() < deadline:
        data, complete, method, form = gen.request()
        try:
            sock = socket.create_connection((args.host, args.port), timeout=5)
        except OSError as e:
            note("refused", str(e))
            time.sleep(0.1)
            continue
        try:
            try:
                send(sock, data, rng)
                if not complete:
                    sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the server may close early (413, 431): its reply is still judged
            t_req = time.time()
            buf, how = read_reply(sock, t_req + args.reply_timeout, method)
            if args.verbose and time.time() - t_req > 0.5:
                print("  slow %.2fs %s %r -> %r" % (time.time() - t_req, how, data[:150], buf[:100]))
        finally:
            sock.close()
        res["requests"] += 1
        if how == "timeout" and (complete or buf):
            note("hangs", "%r -> %r" % (data[:100], buf[:100]))
            continue
        if not buf:
            if complete:
                if form == "origin":
                    note("bad_noreply", repr(data[:120]))
                else:
                    res["noreply"] += 1
            continue
        status, why = judge(buf, method, pipelines(data))
        if status is not None and status < 0:
            status = -status
            note("reply_after_close", repr(data[:200]))
        res["codes"][status] = res["codes"].get(status, 0) + 1
        if why == "500":
            note("status500", repr(data[:160]))
        elif why:
            note("malformed", "%s <- %r -> %r" % (why, data[:300], buf[:400]))
    out_q.put(res)


def alive(args):
    if args.pid:
        try:
            os.kill(args.pid, 0)
        except OSError:
            return False
    try:
        h = orlib.Http(args.host, args.port, timeout=5)
        st = h.request("GET", "/health")[0]
        h.close()
        return st == 200
    except OSError:
        return False


def main():
    s = orlib.settings()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=int(s["http_port"]))
    ap.add_argument("--pid", type=int, default=0, help="gateway pid to watch (0: /health only)")
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=300, help="stop after this long")
    ap.add_argument("--reply-timeout", type=float, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--secret-file", default=s["secret_file"])
    ap.add_argument("--verbose", action="store_true", help="print requests slower than 0.5 s")
    args = ap.parse_args()
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        ap.error("loopback only")

    secret = orlib.read_secret(args.secret_file)
    good = [orlib.token(secret, r, t) for r in ("viewer", "analyst", "admin")
            for t in (orlib.DEMO_TENANT, orlib.DEMO_TENANT_B)]
    bad = [orlib.craft_token(secret, {"sub": "x", "tenant_id": orlib.DEMO_TENANT, "role": "admin", "exp": 4e9},
                             header={"alg": "none"}),
           orlib.craft_token(secret, {"sub": "x", "tenant_id": orlib.DEMO_TENANT, "role": "admin", "exp": 4e9},
                             key="wrong-key-0123456789"),
           orlib.craft_token(secret, {"sub": "x", "tenant_id": orlib.DEMO_TENANT, "role": "admin", "exp": 1}),
           orlib.craft_token(secret, {"sub": "x", "role": "admin", "exp": 4e9}),
           orlib.craft_token(secret, {"sub": "x", "tenant_id": orlib.DEMO_TENANT, "role": "root", "exp": 4e9}),
           "a.b.c", "....", "eyJ.eyJ.x"]
    tokens = {"good": good, "bad": bad}
    ctx = mp.get_context("fork")
    out_q = ctx.Queue()
    t0 = time.time()
    deadline = t0 + args.seconds
    per = [args.requests // args.workers + (1 if i < args.requests % args.workers else 0) for i in range(args.workers)]
    procs = [ctx.Process(target=worker, args=(per[i], args, tokens, args.seed * 100 + i, out_q, deadline))
             for i in range(args.workers)]
    for p in procs:
        p.start()
    results = []
    for _ in procs:
        try:
            results.append(out_q.get(timeout=args.seconds + 120))
        except Exception:
            break
    for p in procs:
        p.join(5)
    elapsed = time.time() - t0
    ok_after = alive(args)
    keys = ("requests", "hangs", "malformed", "status500", "noreply", "bad_noreply", "refused", "reply_after_close")
    tot = {k: sum(r[k] for r in results) for k in keys}
    codes = {}
    for r in results:
        for c, n in r["codes"].items():
            codes[c] = codes.get(c, 0) + n
        for e in r["examples"]:
            print("  " + e[:300])
    crashes = 0 if ok_after else 1
    print("  status codes: " + " ".join("%s=%d" % (c, n) for c, n in sorted(codes.items(), key=lambda x: str(x[0]))))
    print("HTTPFUZZ requests=%d crashes=%d hangs=%d malformed=%d status500=%d noreply=%d bad_noreply=%d refused=%d "
          "reply_after_close=%d seconds=%.1f req_per_s=%.0f" % (
              tot["requests"], crashes, tot["hangs"], tot["malformed"], tot["status500"], tot["noreply"],
              tot["bad_noreply"], tot["refused"], tot["reply_after_close"], elapsed,
                                           tot["requests"] / max(elapsed, 1e-9)))
    bad_total = crashes + tot["hangs"] + tot["malformed"] + tot["status500"] + tot["bad_noreply"] + tot["refused"]
    bad_total += tot["reply_after_close"]
    bad_total += max(0, args.requests - tot["requests"])
    return 0 if bad_total == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
