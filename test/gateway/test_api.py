"""REST gateway: every route, every error status, auth, tenants, caching, metrics.

Anchored on pgbouncer's pytest suite and PostgREST's io-tests: talk HTTP to
the running gateway and check status, headers and JSON bodies.
"""
import json
import os
import re
import socket
import subprocess
import time
import uuid

import pytest
import requests

from conftest import (API, BASE, DIRECT_BASE, METRICS, S, TENANT_A, TENANT_B, auth, craft, secret)

READS = [
    ("/risks", "items"),
    ("/risks?page=1&page_size=5&sort_by=title&sort_dir=asc", "items"),
    ("/risks?status=ACTIVE&severity=LOW", "items"),
    ("/risks/search?q=data", "items"),
    ("/risks/matrix", "grid"),
    ("/risks/matrix?period=year", "grid"),
    ("/stats", "total_risks"),
    ("/stats?period=all", "total_risks"),
    ("/stats/risk-matrix", "grid"),
    ("/stats/trends?days=7", "points"),
    ("/marketplace/connectors", "items"),
    ("/marketplace/connectors?page_size=3", "items"),
]


def one(db, sql, *args):
    row = db.execute(sql, args).fetchone()
    assert row, sql
    return str(row[0])


@pytest.fixture(scope="module")
def ids(db):
    return {
        "risk_a": one(db, "SELECT id FROM openrisk.risks WHERE tenant_id = %s AND deleted_at IS NULL "
                          "ORDER BY created_at LIMIT 1", TENANT_A),
        "risk_b": one(db, "SELECT id FROM openrisk.risks WHERE tenant_id = %s AND deleted_at IS NULL "
                          "ORDER BY created_at LIMIT 1", TENANT_B),
        "connector": one(db, "SELECT id FROM openrisk.connectors LIMIT 1"),
        "app_a": one(db, "SELECT id FROM openrisk.marketplace_apps WHERE tenant_id = %s LIMIT 1", TENANT_A),
        "app_b": one(db, "SELECT id FROM openrisk.marketplace_apps WHERE tenant_id = %s LIMIT 1", TENANT_B),
    }


def error_of(r, status, code=None):
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json"
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code, body
    # never SQL text or a stack (conftest's check_contract also refuses database wording)
    assert not re.search(r"\b(SELECT|FROM openrisk|CONTEXT|LINE \d)\b", body["error"]["message"]), body
    return body["error"]


# ---- happy paths -----------------------------------------------------------

def test_health_and_ready():
    r = requests.get(BASE + "/health")
    assert r.status_code == 200 and r.json() == {"status": "UP", "db": "CONNECTED"}
    r = requests.get(BASE + "/ready")
    assert r.status_code == 200 and r.json()["status"] == "READY"


@pytest.mark.parametrize("path,field", READS)
def test_reads(tokens, path, field):
    r = requests.get(API + path, headers=auth(tokens["viewer"]))
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["X-Cache"] in ("HIT", "MISS")
    assert re.fullmatch(r'"[0-9a-f]{16}"', r.headers["ETag"]), r.headers["ETag"]
    assert field in r.json()


def test_reads_by_id(tokens, ids):
    h = auth(tokens["viewer"])
    r = requests.get(API + "/risks/" + ids["risk_a"], headers=h)
    assert r.status_code == 200 and r.json()["id"] == ids["risk_a"]
    r = requests.get(API + "/marketplace/connectors/" + ids["connector"], headers=h)
    assert r.status_code == 200 and r.json()["id"] == ids["connector"]
    r = requests.get(API + "/marketplace/apps/" + ids["app_a"], headers=h)
    assert r.status_code == 200 and r.json()["id"] == ids["app_a"]


def test_search_and_matrix_not_captured_by_id(tokens):
    h = auth(tokens["viewer"])
    assert "items" in requests.get(API + "/risks/search?q=x", headers=h).json()
    assert "grid" in requests.get(API + "/risks/matrix", headers=h).json()


def test_write_cycle(tokens):
    h = auth(tokens["analyst"])
    r = requests.post(API + "/risks", headers=h,
                      json={"title": "gateway test risk", "impact": 4, "probability": 3})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    assert r.headers["Location"] == "/api/v1/risks/" + rid
    r = requests.get(BASE + r.headers["Location"], headers=h)
    assert r.status_code == 200 and r.json()["title"] == "gateway test risk"
    r = requests.patch(API + "/risks/" + rid, headers=h, json={"title": "renamed"})
    assert r.status_code == 200 and r.json()["title"] == "renamed"
    r = requests.get(API + "/risks/" + rid, headers=h)
    assert r.json()["title"] == "renamed" and r.headers["X-Cache"] == "MISS"
    # analysts may not delete; admins may
    error_of(requests.delete(API + "/risks/" + rid, headers=h), 403, "forbidden")
    r = requests.delete(API + "/risks/" + rid, headers=auth(tokens["admin"]))
    assert r.status_code == 204 and r.content == b""
    error_of(requests.get(API + "/risks/" + rid, headers=h), 404, "not_found")
    error_of(requests.delete(API + "/risks/" + rid, headers=auth(tokens["admin"])), 404)
    error_of(requests.patch(API + "/risks/" + rid, headers=h, json={"title": "x"}), 404)


# ---- caching ---------------------------------------------------------------

def test_hit_after_miss_and_miss_after_write(tokens):
    h = auth(tokens["admin"])
    r = requests.post(API + "/cache/invalidate", headers=h,
                      json={"pattern": "dashboard:stats:%s:*" % TENANT_A})
    assert r.status_code == 200, r.text
    assert r.json()["pattern"] == "dashboard:stats:%s:*" % TENANT_A
    first = requests.get(API + "/stats?period=week", headers=h)
    second = requests.get(API + "/stats?period=week", headers=h)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.text == second.text and first.headers["ETag"] == second.headers["ETag"]
    # a write through the API invalidates the tenant's dashboards at commit
    r = requests.post(API + "/risks", headers=h, json={"title": "cache buster", "impact": 5, "probability": 5})
    assert r.status_code == 201
    third = requests.get(API + "/stats?period=week", headers=h)
    assert third.headers["X-Cache"] == "MISS"
    assert third.json()["total_risks"] == first.json()["total_risks"] + 1


def test_etag_304(tokens):
    h = auth(tokens["viewer"])
    r = requests.get(API + "/stats/risk-matrix", headers=h)
    etag = r.headers["ETag"]
    r2 = requests.get(API + "/stats/risk-matrix", headers=dict(h, **{"If-None-Match": etag}))
    assert r2.status_code == 304 and r2.content == b""
    assert r2.headers["ETag"] == etag
    r3 = requests.get(API + "/stats/risk-matrix", headers=dict(h, **{"If-None-Match": '"0000000000000000"'}))
    assert r3.status_code == 200 and r3.text == r.text


def test_cache_stats_admin(tokens):
    r = requests.get(API + "/cache/stats", headers=auth(tokens["admin"]))
    assert r.status_code == 200
    assert {"hits", "misses", "entries", "bytes_used"} <= set(r.json())


# ---- errors ----------------------------------------------------------------

@pytest.mark.parametrize("path,fragment", [
    ("/risks?page=0", "page"),
    ("/risks?page_size=201", "page_size"),
    ("/risks?page=abc", "integer"),
    ("/risks?sort_by=password", "sort_by"),
    ("/risks?status=OPEN", "status"),
    ("/stats?period=decade", "period"),
    ("/stats/trends?days=400", "days"),
    ("/risks/not-a-uuid", "UUID"),
    ("/risks?tenant_id=" + TENANT_B, "tenant_id"),
    ("/risks?page=%zz", ""),  # requests re-encodes it: the database refuses "%zz"
])
def test_bad_parameters_are_400(tokens, path, fragment):
    err = error_of(requests.get(API + path, headers=auth(tokens["viewer"])), 400)
    assert fragment in err["message"]


def test_cursor_pages(tokens, tokens_b, db):
    """`next` continues a list from its last row; a bad, foreign or
    mismatched cursor is a 400, never another list's rows."""
    h = auth(tokens["viewer"])
    first = requests.get(API + "/risks?page_size=4&sort_by=title&sort_dir=asc", headers=h).json()
    second = requests.get(API + "/risks?page_size=4&sort_by=title&sort_dir=asc&page=2", headers=h).json()
    assert first["next"] and first["page"] == 1
    after = requests.get(API + "/risks", headers=h,
                         params={"page_size": 4, "sort_by": "title", "sort_dir": "asc", "after": first["next"]})
    assert after.status_code == 200, after.text
    assert after.json()["page"] is None
    assert [i["id"] for i in after.json()["items"]] == [i["id"] for i in second["items"]]
    assert after.json()["total"] == first["total"]
    foreign = requests.get(API + "/risks?page_size=4&sort_by=title&sort_dir=asc", headers=auth(tokens_b["viewer"])).json()
    for params, why in ((dict(after="x" * 40), "after is not a valid cursor"),
                        (dict(after=foreign["next"]), "after does not belong to this list"),
                        (dict(after=first["next"], sort_by="score"), "after does not belong to this list"),
                        (dict(after=first["next"], page=2), "page and after cannot be combined")):
        p = dict(page_size=4, sort_by="title", sort_dir="asc")
        p.update(params)
        r = requests.get(API + "/risks", headers=h, params=p)
        error_of(r, 400)
        assert r.json()["error"]["message"] == why, r.text


def test_unknown_route_and_id(tokens):
    h = auth(tokens["viewer"])
    error_of(requests.get(API + "/nothing", headers=h), 404, "not_found")
    error_of(requests.get(BASE + "/", headers=h), 404, "not_found")
    error_of(requests.get(API + "/risks/" + str(uuid.uuid4()), headers=h), 404, "not_found")
    error_of(requests.get(API + "/marketplace/connectors/" + str(uuid.uuid4()), headers=h), 404)
    error_of(requests.get(API + "/marketplace/apps/" + str(uuid.uuid4()), headers=h), 404)


def test_wrong_method_is_405_with_allow(tokens):
    r = requests.put(API + "/risks", headers=auth(tokens["admin"]))
    error_of(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == "GET, POST"
    r = requests.post(API + "/stats", headers=auth(tokens["admin"]))
    error_of(r, 405)
    assert r.headers["Allow"] == "GET"


def test_bodies(tokens):
    h = auth(tokens["analyst"])
    error_of(requests.post(API + "/risks", headers=dict(h, **{"Content-Type": "text/plain"}), data="{}"),
             415, "unsupported_media_type")
    error_of(requests.post(API + "/risks", headers=h), 415)
    # straight to the gateway (conftest checks the reply against the document's 413): the
    # validating proxy is still writing the body when the 413 comes, and under load its
    # upstream write can fail (EPIPE) after the gateway's bounded drain gave up
    direct = DIRECT_BASE + "/api/v1"
    big = json.dumps({"title": "x", "description": "y" * (1 << 20)})
    error_of(requests.post(direct + "/risks", headers=dict(h, **{"Content-Type": "application/json"}), data=big),
             413, "payload_too_large")
    jh = dict(h, **{"Content-Type": "application/json"})
    # malformed JSON goes straight to the gateway too: the validating proxy would answer it itself
    assert "JSON" in error_of(requests.post(direct + "/risks", headers=jh, data="{not json"), 400)["message"]
    error_of(requests.post(API + "/risks", headers=jh, data="[1, 2]"), 400)
    error_of(requests.post(direct + "/risks", headers=jh, data='{"title": "a"} trailing'), 400)
    # the database's own validation, passed on
    err = error_of(requests.post(API + "/risks", headers=h, json={"title": "x", "impact": 9, "probability": 1}), 400)
    assert "impact" in err["message"]
    error_of(requests.post(API + "/risks", headers=h, json={"title": "", "impact": 1, "probability": 1}), 400)
    error_of(requests.post(API + "/risks", headers=h, json={"title": "x", "impact": 1, "probability": 1,
                                                            "bogus": True}), 400)


@pytest.mark.parametrize("make_header", [
    lambda: {},
    lambda: {"Authorization": "Basic YWRtaW46YWRtaW4="},
    lambda: {"Authorization": "Bearer "},
    lambda: {"Authorization": "Bearer garbage"},
    lambda: auth(craft({"alg": "HS256"}, {"role": "admin", "tenant_id": TENANT_A, "exp": int(time.time()) + 60},
                       key="some-other-secret-entirely")),
    lambda: auth(craft({"alg": "HS256"}, {"role": "admin", "tenant_id": TENANT_A, "exp": int(time.time()) - 5})),
    lambda: auth(craft({"alg": "HS256"}, {"role": "admin", "tenant_id": TENANT_A})),
    lambda: auth(craft({"alg": "HS256"}, {"role": "root", "tenant_id": TENANT_A, "exp": int(time.time()) + 60})),
    lambda: auth(craft({"alg": "HS256"}, {"role": "admin", "tenant_id": "acme", "exp": int(time.time()) + 60})),
    lambda: auth(craft({"alg": "none"}, {"role": "admin", "tenant_id": TENANT_A,
                                         "exp": int(time.time()) + 60}).rsplit(".", 1)[0] + "."),
    lambda: auth(craft({"alg": "HS384"}, {"role": "admin", "tenant_id": TENANT_A, "exp": int(time.time()) + 60})),
], ids=["missing", "basic", "empty", "garbage", "other-secret", "expired", "no-exp", "bad-role",
        "bad-tenant", "alg-none", "alg-hs384"])
def test_unauthenticated_is_401(make_header):
    r = requests.get(API + "/stats", headers=make_header())
    error_of(r, 401, "unauthorized")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


ROUTES = [  # method, path, body, minimum role
    ("GET", "/risks", None, "viewer"),
    ("GET", "/risks/search?q=a", None, "viewer"),
    ("GET", "/risks/matrix", None, "viewer"),
    ("GET", "/risks/{risk_a}", None, "viewer"),
    ("POST", "/risks", {"title": "matrix", "impact": 1, "probability": 1}, "analyst"),
    ("PATCH", "/risks/{risk_a}", {"description": "touched by the auth matrix"}, "analyst"),
    ("DELETE", "/risks/" + "00000000-0000-4000-8000-00000000dead", None, "admin"),
    ("GET", "/stats", None, "viewer"),
    ("GET", "/stats/risk-matrix", None, "viewer"),
    ("GET", "/stats/trends", None, "viewer"),
    ("GET", "/marketplace/connectors", None, "viewer"),
    ("GET", "/marketplace/connectors/{connector}", None, "viewer"),
    ("GET", "/marketplace/apps/{app_a}", None, "viewer"),
    ("GET", "/cache/stats", None, "admin"),
    ("POST", "/cache/invalidate", {"pattern": "risk:matrix:%s:*" % TENANT_A}, "admin"),
]
LEVEL = {"viewer": 1, "analyst": 2, "admin": 3}


@pytest.mark.parametrize("method,path,body,need", ROUTES, ids=[m + " " + p for m, p, _, _ in ROUTES])
@pytest.mark.parametrize("role", ["viewer", "analyst", "admin"])
def test_auth_matrix(tokens, ids, method, path, body, need, role):
    r = requests.request(method, API + path.format(**ids), headers=auth(tokens[role]), json=body)
    if LEVEL[role] < LEVEL[need]:
        error_of(r, 403, "forbidden")
    else:
        assert r.status_code in (200, 201, 204, 404), (r.status_code, r.text)
        assert r.status_code != 404 or method == "DELETE", r.text


# ---- tenants ---------------------------------------------------------------

def test_tenant_isolation(tokens, tokens_b, ids, db):
    a, b = auth(tokens["admin"]), auth(tokens_b["admin"])
    # A never sees B's risk or app, by id or in lists
    error_of(requests.get(API + "/risks/" + ids["risk_b"], headers=a), 404)
    error_of(requests.get(API + "/marketplace/apps/" + ids["app_b"], headers=a), 404)
    error_of(requests.patch(API + "/risks/" + ids["risk_b"], headers=a, json={"title": "pwned"}), 404)
    error_of(requests.delete(API + "/risks/" + ids["risk_b"], headers=a), 404)
    assert requests.get(API + "/risks/" + ids["risk_b"], headers=b).status_code == 200
    listed = requests.get(API + "/risks?page_size=200", headers=a).json()["items"]
    assert listed and all(item["tenant_id"] == TENANT_A for item in listed)
    # stats are per tenant
    for tenant, h in ((TENANT_A, a), (TENANT_B, b)):
        want = one(db, "SELECT count(*) FROM openrisk.risks WHERE tenant_id = %s AND deleted_at IS NULL", tenant)
        assert requests.get(API + "/stats?period=all", headers=h).json()["total_risks"] == int(want)
    # A's admin cannot invalidate B's cache entries, nor everything
    for pattern in ("risk:list:%s:*" % TENANT_B, "*", "risk:*", "connector:list:*", "dashboard:stats:*"):
        error_of(requests.post(API + "/cache/invalidate", headers=a, json={"pattern": pattern}), 403)
    requests.get(API + "/stats?period=year", headers=b)
    assert requests.get(API + "/stats?period=year", headers=b).headers["X-Cache"] == "HIT"
    r = requests.post(API + "/cache/invalidate", headers=a, json={"pattern": "dashboard:stats:%s:*" % TENANT_A})
    assert r.status_code == 200
    assert requests.get(API + "/stats?period=year", headers=b).headers["X-Cache"] == "HIT"
    error_of(requests.post(API + "/cache/invalidate", headers=a, json={"nope": 1}), 400)


# ---- protocol, metrics, logs -----------------------------------------------

def raw_request(data, port=None):
    with socket.create_connection(("127.0.0.1", int(port or S["http_port"])), timeout=5) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)


def test_garbled_request_gets_json_error_without_echo():
    marker = b"<script>ECHO-ME</script>"
    reply = raw_request(b"GARBAGE " + marker + b" NONSENSE\r\n\r\n")
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 4"), reply[:200]
    assert marker not in reply
    assert "error" in json.loads(body)


def test_malformed_query_escape_is_400(tokens):
    reply = raw_request(("GET /api/v1/risks?q=%%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                         "Authorization: Bearer %s\r\n\r\n" % tokens["viewer"]).encode())
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), reply[:300]
    assert "malformed" in json.loads(body)["error"]["message"]



# An error replied before the request body was read (404, 405, 401, 403, 415,
# 413): a declared body within --max-body is consumed, so the connection stays
# usable and the next pipelined request is answered; any other unread body
# (declared too large, chunked, awaited by "Expect: 100-continue") gets
# "Connection: close" and the connection really ends -- civetweb used to keep
# it and serve what followed the body (reliability defect 3).
NEXT = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


def exchange(data):
    """Send data on one connection; (replies as [(status, head, body)], ended by the server?)."""
    with socket.create_connection(("127.0.0.1", int(S["http_port"])), timeout=5) as s:
        s.sendall(data)
        buf, ended = b"", False
        while True:
            try:
                c = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                ended = True
                break
            if not c:
                ended = True
                break
            buf += c
    replies = []
    while buf:
        end = buf.find(b"\r\n\r\n")
        assert end > 0, buf[:300]
        head = buf[:end].decode("latin-1")
        m = re.search(r"\r\ncontent-length: *(\d+)", head, re.I)
        n = int(m.group(1)) if m else 0
        replies.append((int(head.split(" ", 2)[1]), head.lower(), buf[end + 4:end + 4 + n]))
        buf = buf[end + 4 + n:]
    return replies, ended


def post(path, headers, body=b"{}"):
    return ("POST %s HTTP/1.1\r\nHost: x\r\n%s\r\n" % (path, headers)).encode() + body


@pytest.mark.parametrize("path,role,ctype,status", [
    ("/health", None, "application/json", 405),
    ("/api/v1/nowhere", None, "application/json", 404),
    ("/api/v1/risks", None, "application/json", 401),
    ("/api/v1/risks", "viewer", "application/json", 403),
    ("/api/v1/risks", "analyst", "text/plain", 415),
])
def test_early_error_consumes_small_body_and_keeps_connection(tokens, path, role, ctype, status):
    h = "Content-Type: %s\r\nContent-Length: 2\r\n" % ctype
    if role:
        h += "Authorization: Bearer %s\r\n" % tokens[role]
    replies, _ = exchange(post(path, h) + NEXT.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    assert [r[0] for r in replies] == [status, 200], replies
    assert "connection: close" not in replies[0][1]
    assert json.loads(replies[1][2]) == {"status": "UP", "db": "CONNECTED"}


@pytest.mark.parametrize("headers,body,status", [
    ("Content-Type: application/json\r\nContent-Length: 99999999\r\n", b"{}", 413),
    ("Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n", 403),
    ("Content-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n", b"", 403),
])
def test_early_error_on_unread_body_really_closes(tokens, headers, body, status):
    role = "analyst" if status == 413 else "viewer"
    h = headers + "Authorization: Bearer %s\r\n" % tokens[role]
    replies, ended = exchange(post("/api/v1/risks", h, body) + NEXT)
    assert [r[0] for r in replies] == [status], replies
    assert "\r\nconnection: close" in replies[0][1]
    assert ended, "the gateway said Connection: close but kept the connection open"

def test_keep_alive_and_single_write(tokens):
    with requests.Session() as s:
        for _ in range(20):
            assert s.get(API + "/stats", headers=auth(tokens["viewer"])).status_code == 200


def test_metrics_promtool_and_names(tokens):
    requests.get(API + "/stats", headers=auth(tokens["viewer"]))
    r = requests.get(METRICS)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    check = subprocess.run(["promtool", "check", "metrics"], input=r.text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    for name in ("openrisk_http_requests_total{route=\"/stats\",method=\"GET\",code=\"200\"}",
                 "openrisk_http_request_duration_seconds_bucket{route=\"/stats\"",
                 "openrisk_cache_requests_total{route=\"/stats\",result=",
                 "openrisk_pool_connections_open ", "openrisk_pool_connections_idle ",
                 "openrisk_pool_connections_in_use ", "openrisk_pool_connections_max ",
                 "openrisk_pool_waiting ", "openrisk_pool_acquire_wait_seconds_bucket",
                 "openrisk_pool_acquire_timeouts_total ", "openrisk_pool_connections_opened_total ",
                 "openrisk_pool_connections_closed_total{reason=\"lifetime\"}",
                 "openrisk_db_cache_hits_total ", "openrisk_db_cache_bytes_used ",
                 "openrisk_db_cache_fills_rejected_total ", "openrisk_db_cache_stampede_waits_total ",
                 "openrisk_db_cache_handoffs_total ", "openrisk_db_cache_stampede_recomputes_total ",
                 "openrisk_pg_xact_commit_total ", "openrisk_pg_blks_hit_total ", "openrisk_pg_numbackends ",
                 "openrisk_pg_activity_connections{state=\"active\"}"):
        assert name in r.text, name
    assert requests.get(METRICS.replace("/metrics", "/other")).status_code == 404


def test_access_log_has_lines_but_no_tokens(tokens):
    r = requests.get(API + "/stats?period=month", headers=auth(tokens["admin"]))
    rid = r.headers["X-Request-Id"]
    log = os.path.join(S["log_dir"], "gateway.log")
    for _ in range(20):
        text = open(log, errors="replace").read()
        if rid in text:
            break
        time.sleep(0.05)
    line = [ln for ln in text.splitlines() if rid in ln][-1]
    assert 'method=GET path="/api/v1/stats" status=200' in line and "cache=" in line, line
    assert "period=" not in line
    for t in tokens.values():
        assert t not in text and t.split(".")[2] not in text
    assert secret() not in text
