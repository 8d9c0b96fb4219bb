#!/usr/bin/python3
"""security.py -- the threat model of docs/SECURITY.md, checked against a
running stack.

Why one program: every check needs the same set-up (two tenants with
marked data, tokens, a plain database role) and prints one TAP line, so
the suite script only counts.  Checks:

* tenants: tenant A's token never reaches B's risk by id (GET, PATCH,
  DELETE), by list, by search term, by stats, by cache invalidation
  pattern, nor through crafted search terms that look like cache keys;
  the SQL endpoints never return a risk under another tenant.
* tokens: alg none / HS384 / RS256, wrong key, expired, nbf in the future,
  missing or malformed tenant, unknown role, missing exp, too-low role,
  token in the query string, truncated and re-signed-payload tokens.
* SQL injection: classic strings in every query parameter, in path ids and
  in body fields are inert (no 500, no delay, table intact, text stored
  literally).
* secrets: /metrics and the gateway's log never contain the JWT secret, a
  token, or a query string.
* database: the engine's admin functions are not executable by an
  ordinary role; every SECURITY DEFINER function pins search_path with
  pg_temp last.
"""
import json
import os
import sys
import time
import urllib.parse
import uuid

import psycopg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import orlib  # noqa: E402

S = orlib.settings()
SECRET = orlib.read_secret(S["secret_file"])
A, B = orlib.DEMO_TENANT, orlib.DEMO_TENANT_B
H = orlib.Http("127.0.0.1", int(S["http_port"]))
RESULTS = {"pass": 0, "fail": 0}
INJECTIONS = ["' OR '1'='1", "'; DROP TABLE openrisk.risks; --", "1); SELECT pg_sleep(3); --",
              "x' UNION SELECT id::text FROM openrisk.risks --", "$1", "%' OR 1=1 --", "\\'; COMMIT; --",
              "risk:list:*", "*", B, "' || pg_sleep(3) || '", "title; DELETE FROM openrisk.risks"]


def ok(cond, what):
    RESULTS["pass" if cond else "fail"] += 1
    print(("ok - " if cond else "not ok - ") + what)
    return cond


def call(method, path, token=None, body=None, headers=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        h["Content-Type"] = "application/json"
    status, hdrs, raw = H.request(method, path, h, data)
    try:
        doc = json.loads(raw) if raw else None
    except ValueError:
        doc = None
    return status, doc, raw


def tok(role, tenant=A, **extra):
    claims = {"sub": "security", "tenant_id": tenant, "role": role, "exp": int(time.time()) + 600}
    claims.update(extra)
    return orlib.craft_token(SECRET, {k: v for k, v in claims.items() if v is not None})


# ------------------------------------------------------------------ tenants
def tenants(db):
    marker = "xtenant%s" % uuid.uuid4().hex[:10]
    st, doc, _ = call("POST", "/api/v1/risks", tok("analyst", B), {"title": "secret of B " + marker, "impact": 5,
                                                                   "probability": 5})
    ok(st == 201, "tenant B creates a marked risk (%d)" % st)
    bid = doc["id"]
    viewer, analyst, admin = tok("viewer"), tok("analyst"), tok("admin")
    ok(call("GET", "/api/v1/risks/" + bid, viewer)[0] == 404, "A cannot GET B's risk by id (404)")
    ok(call("PATCH", "/api/v1/risks/" + bid, analyst, {"title": "pwned"})[0] == 404, "A cannot PATCH B's risk (404)")
    ok(call("DELETE", "/api/v1/risks/" + bid, admin)[0] == 404, "A cannot DELETE B's risk (404)")
    st, doc, _ = call("GET", "/api/v1/risks/" + bid, tok("viewer", B))
    ok(st == 200 and doc["title"] == "secret of B " + marker, "B's risk is untouched by A's attempts")
    # (the envelope echoes q, so only the items are inspected)
    items = lambda doc: json.dumps((doc or {}).get("items", []))  # noqa: E731
    st, doc, _ = call("GET", "/api/v1/risks/search?q=" + marker, viewer)
    ok(st == 200 and marker not in items(doc) and doc["total"] == 0, "A's search for B's unique term finds nothing")
    st, doc, _ = call("GET", "/api/v1/risks/search?q=" + marker, tok("viewer", B))
    ok(st == 200 and marker in items(doc), "B's own search for that term finds it (the check above can fail)")
    # a search term shaped like the key of B's cached search must not alias it
    for q in ["%s:%s" % (B, marker), "risk:search:%s:%s" % (B, marker), "*", marker + ":*"]:
        st, doc, _ = call("GET", "/api/v1/risks/search?q=" + urllib.parse.quote(q), viewer)
        ok(st in (200, 400) and marker not in items(doc) and bid not in items(doc),
           "search term %r from A returns none of B's data" % q)
    for page in range(1, 30):
        st, doc, raw = call("GET", "/api/v1/risks?page_size=200&page=%d" % page, viewer)
        if st != 200 or not doc["items"]:
            break
        if bid.encode() in raw or any(i["tenant_id"] != A for i in doc["items"]):
            break
    ok(bid.encode() not in raw and all(i["tenant_id"] == A for i in (doc or {}).get("items", [])),
       "no page of A's risk list holds another tenant's risk")
    ok(call("GET", "/api/v1/risks?tenant_id=" + B, viewer)[0] == 400, "a tenant_id query parameter is refused (400)")
    for pattern in ["risk:list:%s:*" % B, "risk:id:%s:%s" % (B, bid), "*", "risk:*", "risk:list:*",
                    "connector:*", "dashboard:stats:%s*" % A[:-1], "risk:list:%s:*" % B.upper(),
                    "risk:list:%s" % A + "\n", "risk::%s:*" % A]:
        st, _, _ = call("POST", "/api/v1/cache/invalidate", admin, {"pattern": pattern})
        ok(st in (400, 403), "A's admin may not invalidate %r (%d)" % (pattern, st))
    st, _, _ = call("POST", "/api/v1/cache/invalidate", admin, {"pattern": "risk:list:%s:*" % A})
    ok(st == 200, "A's admin may invalidate A's own keys (the checks above can fail)")
    sa = call("GET", "/api/v1/stats?period=all", viewer)[1]
    sb = call("GET", "/api/v1/stats?period=all", tok("viewer", B))[1]
    direct = db.execute("SELECT count(*) FROM openrisk.risks WHERE tenant_id = %s AND deleted_at IS NULL",
                        (A,)).fetchone()[0]
    ok(sa["total_risks"] == direct and sa != sb, "A's stats count exactly A's risks (%d)" % direct)
    row = db.execute("SELECT openrisk.risk_get(%s, %s)", (A, bid)).fetchone()[0]
    ok(row is None, "SQL: risk_get(A, B's id) is NULL")
    row = db.execute("SELECT openrisk.risk_update(%s, %s, '{\"title\":\"x\"}')", (A, bid)).fetchone()[0]
    ok(row is None, "SQL: risk_update(A, B's id) is NULL and changes nothing")
    ok(db.execute("SELECT openrisk.risk_delete(%s, %s)", (A, bid)).fetchone()[0] is False,
       "SQL: risk_delete(A, B's id) is false")
    db.execute("SELECT openrisk.risk_delete(%s, %s)", (B, bid))


# ------------------------------------------------------------------- tokens
def tokens():
    now = int(time.time())
    full = {"sub": "s", "tenant_id": A, "role": "admin", "exp": now + 600}
    cases = {
        "alg none": orlib.craft_token(SECRET, full, header={"alg": "none", "typ": "JWT"}).rsplit(".", 1)[0] + ".",
        "alg none, signed": orlib.craft_token(SECRET, full, header={"alg": "none"}),
        "alg HS384": orlib.craft_token(SECRET, full, header={"alg": "HS384"}),
        "alg RS256": orlib.craft_token(SECRET, full, header={"alg": "RS256"}),
        "no alg": orlib.craft_token(SECRET, full, header={"typ": "JWT"}),
        "wrong key": orlib.craft_token(SECRET, full, key="not-the-secret-0123456789"),
        "empty key": orlib.craft_token(SECRET, full, key=" "),
        "expired": tok("admin", exp=now - 5),
        "no exp": tok("admin", exp=None),
        "nbf in the future": tok("admin", nbf=now + 3600),
        "missing tenant": tok("admin", tenant=None),
        "tenant not a uuid": tok("admin", tenant="' OR 1=1 --"),
        "tenant as number": tok("admin", tenant=12),
        "unknown role": tok("superuser"),
        "role as list": tok(["admin"]),
        "truncated": tok("admin")[:-5],
        "payload swapped": tok("viewer").split(".")[0] + "." + tok("admin").split(".")[1] + "." +
                           tok("viewer").split(".")[2],
        "garbage": "not.a.token",
        "empty": "",
    }
    for what, t in cases.items():
        st, doc, _ = call("GET", "/api/v1/stats", t) if t else call("GET", "/api/v1/stats", headers={"Authorization": "Bearer "})
        ok(st == 401 and doc and doc["error"]["code"] == "unauthorized", "token %s -> 401 (%d)" % (what, st))
    ok(call("GET", "/api/v1/stats?access_token=" + tok("admin"))[0] in (400, 401), "a token in the query string is not accepted")
    ok(call("GET", "/api/v1/stats", headers={"Authorization": "Basic " + tok("admin")})[0] == 401,
       "a token under another auth scheme is not accepted")
    for role, method, path, body in [("viewer", "POST", "/api/v1/risks", {"title": "x", "impact": 1, "probability": 1}),
                                     ("viewer", "PATCH", "/api/v1/risks/" + str(uuid.uuid4()), {"title": "x"}),
                                     ("analyst", "DELETE", "/api/v1/risks/" + str(uuid.uuid4()), None),
                                     ("analyst", "GET", "/api/v1/cache/stats", None),
                                     ("viewer", "POST", "/api/v1/cache/invalidate", {"pattern": "risk:list:%s:*" % A})]:
        st, doc, _ = call(method, path, tok(role), body)
        ok(st == 403 and doc["error"]["code"] == "forbidden", "%s may not %s %s (403, got %d)" % (role, method, path, st))
    ok(call("GET", "/api/v1/stats", tok("viewer"))[0] == 200, "a valid viewer token is accepted (the checks above can fail)")


# ------------------------------------------------------------ SQL injection
def injection(db):
    count = lambda: db.execute("SELECT count(*) FROM openrisk.risks").fetchone()[0]  # noqa: E731
    before = count()
    viewer, analyst = tok("viewer"), tok("analyst")
    params = {"/api/v1/risks": ["page", "page_size", "severity", "status", "q", "sort_by", "sort_dir"],
              "/api/v1/risks/search": ["q", "page", "page_size"], "/api/v1/risks/matrix": ["period"],
              "/api/v1/stats": ["period"], "/api/v1/stats/trends": ["days"],
              "/api/v1/marketplace/connectors": ["category", "status", "page", "page_size"]}
    worst, bad = 0.0, []
    for path, names in params.items():
        for name in names:
            for inj in INJECTIONS:
                t0 = time.time()
                st, doc, raw = call("GET", path + "?" + urllib.parse.urlencode({name: inj}), viewer)
                worst = max(worst, time.time() - t0)
                if st not in (200, 400) or (st == 400 and doc["error"]["code"] != "bad_request") or \
                        (st == 200 and b'"tenant_id" : "%s"' % B.encode() in raw):
                    bad.append("%s?%s=%r -> %d" % (path, name, inj, st))
    ok(not bad, "%d injection strings in every query parameter: only 200 or 400, never another tenant's data %s"
       % (len(INJECTIONS), bad[:3]))
    for inj in INJECTIONS:
        for method in ("GET", "PATCH", "DELETE"):
            t0 = time.time()
            st = call(method, "/api/v1/risks/" + urllib.parse.quote(inj, safe=""), tok("admin"),
                      {"title": "x"} if method == "PATCH" else None)[0]
            worst = max(worst, time.time() - t0)
            if st not in (400, 404):
                bad.append("%s /risks/%r -> %d" % (method, inj, st))
    ok(not bad, "injection strings as path ids: 400 or 404 %s" % bad[:3])
    created = []
    for inj in INJECTIONS:
        st, doc, _ = call("POST", "/api/v1/risks", analyst, {"title": inj, "description": inj, "owner": inj,
                                                             "tags": [inj], "impact": 2, "probability": 2})
        if st == 201:
            created.append(doc["id"])
            back = call("GET", "/api/v1/risks/" + doc["id"], viewer)[1]
            if back["title"] != inj or back["tags"] != [inj]:
                bad.append("stored %r as %r" % (inj, back["title"]))
        else:
            bad.append("POST title %r -> %d" % (inj, st))
    ok(not bad, "injection strings in body fields are stored and returned literally %s" % bad[:3])
    ok(worst < 2.5, "no injected pg_sleep ran (slowest request %.2fs)" % worst)
    for rid in created:
        db.execute("SELECT openrisk.risk_delete(%s, %s)", (A, rid))
    ok(count() == before + len(created) and db.execute("SELECT to_regclass('openrisk.risks') IS NOT NULL").fetchone()[0],
       "the risks table is intact (%d rows before, %d after, %d created)" % (before, count(), len(created)))


# ------------------------------------------------------------------ secrets
def secrets():
    marker = "qsmarker%s" % uuid.uuid4().hex[:8]
    t = tok("viewer")
    call("GET", "/api/v1/risks/search?q=" + marker, t)
    call("GET", "/api/v1/stats?period=" + marker, t)
    call("GET", "/api/v1/stats", "eyJhbGciOiJub25lIn0." + marker + ".x")
    time.sleep(0.3)
    text = orlib.Http("127.0.0.1", int(S["metrics_port"])).request("GET", "/metrics")[2].decode()
    ok(SECRET not in text and "eyJ" not in text and marker not in text and "password" not in text.lower(),
       "/metrics holds no secret, token or query string")
    log = open(os.path.join(S["log_dir"], "gateway.log"), errors="replace").read()
    ok(SECRET not in log, "the gateway log never holds the JWT secret")
    ok(t not in log and "eyJhbGci" not in log, "the gateway log never holds a token")
    ok(marker not in log, "the gateway log never holds a query string or a rejected token's text")
    ok("access" in log.lower() and "/api/v1/risks/search" in log, "the gateway log does log those requests (the checks above can fail)")


# ----------------------------------------------------------------- database
def database(db):
    role = "openrisk_sec_plain"
    db.execute("DROP ROLE IF EXISTS %s" % role)
    db.execute("CREATE ROLE %s LOGIN" % role)
    try:
        admin_calls = ["openrisk.cache_reset()", "openrisk.cache_put('risk:id:x', 'v')", "openrisk.cache_get('risk:id:x')",
                       "openrisk.cache_invalidate('*')", "openrisk.cache_get_many(ARRAY['a'])",
                       "openrisk.cache_put_many('{\"a\":\"b\"}'::jsonb, NULL)", "openrisk.cache_ttl('a')",
                       "openrisk.cache_fetch('risk:x', NULL, 'SELECT 1')",
                       "openrisk.generate_demo_data(1, 1, 1)"]
        with psycopg.connect(S["dsn"].replace("user=postgres", "user=" + role), autocommit=True) as plain:
            for c in admin_calls:
                try:
                    plain.execute("SELECT " + c)
                    ok(False, "an ordinary role cannot run %s" % c)
                except psycopg.errors.InsufficientPrivilege:
                    ok(True, "an ordinary role cannot run %s (42501)" % c)
                except psycopg.Error as e:
                    ok(False, "an ordinary role cannot run %s (got %s)" % (c, e.sqlstate))
            r = plain.execute("SELECT enabled FROM openrisk.cache_stats()").fetchone()
            ok(r is not None, "an ordinary role may read cache_stats (public by design)")
            # least privilege (sql/80_privileges.sql): the endpoint functions
            # are the group roles', not PUBLIC's
            try:
                plain.execute("SELECT openrisk.risk_get(%s, %s)", (A, str(uuid.uuid4())))
                ok(False, "an ordinary role cannot call the endpoint functions")
            except psycopg.errors.InsufficientPrivilege:
                ok(True, "an ordinary role cannot call the endpoint functions (42501)")
            db.execute("GRANT openrisk_reader TO %s" % role)
            st = plain.execute("SELECT openrisk.risk_get(%s, %s)", (A, str(uuid.uuid4()))).fetchone()
            ok(st == (None,), "a member of openrisk_reader may")
    finally:
        db.execute("DROP ROLE IF EXISTS %s" % role)
    rows = db.execute("""
        SELECT p.oid::regprocedure::text, p.proconfig
          FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
          JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'openrisk'
         WHERE p.prosecdef""").fetchall()
    ok(len(rows) >= 20, "the extension has SECURITY DEFINER functions to check (%d)" % len(rows))
    bad = []
    for name, conf in rows:
        sp = [c for c in (conf or []) if c.startswith("search_path=")]
        parts = [x.strip() for x in sp[0].split("=", 1)[1].split(",")] if sp else []
        if not parts or parts[-1] != "pg_temp" or "public" in parts or "$user" in parts:
            bad.append(name)
    ok(not bad, "every SECURITY DEFINER function pins search_path with pg_temp last, without public %s" % bad[:5])


def main():
    with psycopg.connect(S["dsn"], autocommit=True) as db:
        tenants(db)
        tokens()
        injection(db)
        secrets()
        database(db)
    print("SECURITY passed=%d failed=%d" % (RESULTS["pass"], RESULTS["fail"]))
    return 0 if RESULTS["fail"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
