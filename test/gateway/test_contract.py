"""The contract and the HTTP conventions (issue 13 items 1 and 6).

- the validating proxy really catches an undocumented status and a schema
  error (so "0 violations" over the suite means something), and so does the
  check of replies no operation owns (404 / 405, x-unrouted-responses);
- a tour of every operation of the document through the proxy;
- CORS: none by default; preflights allowed / refused by configuration;
  credentials never with "*"; Vary: Origin;
- Link rel=next / rel=prev, Server-Timing;
- a 413 that Node's http client and fetch() read (no EPIPE / reset);
- no database or parser text in error messages, one code per kind.
"""
import json
import os
import re
import subprocess
import urllib.error
import urllib.request

import pytest
import requests
import yaml

from conftest import (API, BASE, DIRECT_BASE, PRISM, PRISM_LOGS, RAW_DB_TEXT, SPEC, TENANT_A, UNROUTED,
                      ContractProxy, auth)
from unrouted import Unrouted


# ---- the validator can fail ------------------------------------------------

@pytest.mark.skipif(not os.path.exists(PRISM), reason="the contract tools are not installed (tools/deps.sh)")
def test_validating_proxy_catches_undocumented_status_and_schema_error(tokens, tmp_path):
    """A copy of the contract without listRisks' 400 and with impact <= 2:
    the proxy must flag the 400 as undocumented and the risks as schema
    errors (plain urllib: the suite's own check must not see these)."""
    spec = yaml.safe_load(open(SPEC))
    del spec["paths"]["/api/v1/risks"]["get"]["responses"]["400"]
    spec["components"]["schemas"]["Risk"]["properties"]["impact"]["maximum"] = 2
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(spec, sort_keys=False))
    proxy = ContractProxy(DIRECT_BASE, os.path.join(PRISM_LOGS, "prism-selfcheck.log"), spec=str(broken))
    try:
        def violations(path):
            req = urllib.request.Request(proxy.base + path, headers=auth(tokens["viewer"]))
            try:
                resp = urllib.request.urlopen(req, timeout=30)
            except urllib.error.HTTPError as e:
                resp = e
            return [v for v in json.loads(resp.headers.get("sl-violations") or "[]") if v["location"][0] == "response"]
        undocumented = violations("/api/v1/risks?page=0")
        assert any("Unable to match the returned status code" in v["message"] for v in undocumented), undocumented
        schema = violations("/api/v1/risks?page_size=50&sort_by=impact&sort_dir=desc")
        assert any(v.get("code") == "maximum" for v in schema), schema
    finally:
        proxy.stop()


def test_unrouted_replies_are_checked(tokens):
    """404 / 405 replies match no operation: conftest checks them against
    x-unrouted-responses, and that check fails a reply the document does
    not describe (a status it does not list, a missing Allow, a foreign code)."""
    r = requests.put(API + "/risks", headers=auth(tokens["admin"]))
    assert r.status_code == 405 and r.headers["Allow"] == "GET, POST"
    assert not UNROUTED.errors(405, r.headers, r.json())
    strict = Unrouted(SPEC)
    del strict.responses["405"]
    assert strict.errors(405, r.headers, r.json()) == ["status 405 is not in x-unrouted-responses"]
    headers = r.headers.copy()
    del headers["Allow"]
    assert UNROUTED.errors(405, headers, r.json()) == ["header Allow is required"]
    assert UNROUTED.errors(404, r.headers, {"error": {"code": "gone", "message": "x"}})
    # a reply straight from the gateway (malformed JSON: the proxy would answer it) is checked
    # against the shared response of its status, and fails a code the document does not list
    r = requests.post(DIRECT_BASE + "/api/v1/risks", data="{not json",
                      headers=dict(auth(tokens["admin"]), **{"Content-Type": "application/json"}))
    assert r.status_code == 400 and not UNROUTED.errors(400, r.headers, r.json(), UNROUTED.shared_error(400))
    strict.doc["components"]["schemas"]["ErrorCode"]["enum"].remove("bad_request")
    assert strict.errors(400, r.headers, r.json(), strict.shared_error(400)) == [
        "body.error.code: 'bad_request' not one of the enum"]


# ---- a tour of every operation, driven by the document ---------------------

DOC = yaml.safe_load(open(SPEC))
OPERATIONS = [(path, method, op) for path, item in DOC["paths"].items() for method, op in item.items()
              if method in ("get", "post", "patch", "delete")]
# a real id for each {id} path (tenant A's; the catalogue is global)
ID_SQL = {"/api/v1/risks/": "SELECT id FROM openrisk.risks WHERE tenant_id = %s AND deleted_at IS NULL LIMIT 1",
          "/api/v1/marketplace/connectors/": "SELECT id FROM openrisk.connectors WHERE %s::uuid IS NOT NULL LIMIT 1",
          "/api/v1/marketplace/apps/": "SELECT id FROM openrisk.marketplace_apps WHERE tenant_id = %s LIMIT 1"}


def concrete(path, op, db):
    """The path with a real {id} and the operation's required query
    parameters (their example or default, else "risk" / the minimum)."""
    if "{id}" in path:
        prefix = path.split("{id}")[0]
        path = prefix + str(db.execute(ID_SQL[prefix], (TENANT_A,)).fetchone()[0])
    query = []
    for param in op.get("parameters", []):
        param = UNROUTED.resolve(param)
        if param["in"] == "query" and param.get("required"):
            schema = param["schema"]
            value = schema.get("example", schema.get("default", "risk" if schema["type"] == "string" else
                                                      schema.get("minimum", 1)))
            query.append("%s=%s" % (param["name"], value))
    return path + ("?" + "&".join(query) if query else "")


def json_get(op):
    return "application/json" in op["responses"].get("200", {}).get("content", {}) or \
        op["responses"].get("200", {}).get("$ref", "").endswith("Page")


def test_replica_reads_document_x_min_lsn():
    """Every route the gateway may send to a replica (KIND_READ / KIND_LIST in
    gateway/src/routes.c, route_is_cached_read) declares the X-Min-LSN header
    in the contract, so a client generated from it can read its own writes."""
    routes = open(os.path.join(os.path.dirname(SPEC), "..", "gateway", "src", "routes.c")).read()
    reads = re.findall(r'\{"GET", "([^"]+)", KIND_(?:READ|LIST),', routes)
    assert len(reads) >= 11, reads
    spec = yaml.safe_load(open(SPEC))
    missing = [path for path in reads
               if {"$ref": "#/components/parameters/X-Min-LSN"} not in spec["paths"][path]["get"].get("parameters", [])]
    assert missing == [], "cached reads without X-Min-LSN in the contract: %s" % missing


@pytest.mark.parametrize("path,method,op", OPERATIONS, ids=[op["operationId"] for _, _, op in OPERATIONS])
def test_tour_of_every_operation(tokens, db, path, method, op):
    """Every operation of docs/openapi.yaml, through the validating proxy:
    without a token (401 where the operation is secured), a plain OPTIONS
    of its path (204 + Allow) and, for JSON reads, 200 then If-None-Match
    (304 where documented) and an unknown parameter (400).  The proxy
    checks each reply against that operation's responses, so statuses and
    headers no other test provokes are validated too.  Nothing is written:
    writes are only sent without a token."""
    url = BASE + concrete(path, op, db)
    documented = op["responses"]
    if op.get("security", DOC["security"]):
        r = requests.request(method, url, json={} if method in ("post", "patch") else None, timeout=10)
        assert r.status_code == 401 and "401" in documented, (r.status_code, r.text)
    r = requests.options(url, timeout=10)
    assert r.status_code == 204 and method.upper() in r.headers["Allow"]
    if method != "get" or not json_get(op):
        return
    h = auth(tokens["admin"])
    r = requests.get(url, headers=h, timeout=10)
    assert r.status_code == 200, r.text
    if "304" in documented:
        again = requests.get(url, headers=dict(h, **{"If-None-Match": r.headers["ETag"]}), timeout=10)
        assert again.status_code == 304
    if "400" in documented:
        unknown = url + ("&" if "?" in url else "?") + "no_such_parameter=1"
        assert requests.get(unknown, headers=h, timeout=10).status_code == 400


def test_lists_share_one_envelope(tokens):
    h = auth(tokens["viewer"])
    for path in ("/risks?page_size=3", "/risks/search?q=risk&page_size=3", "/marketplace/connectors?page_size=3"):
        body = requests.get(API + path, headers=h).json()
        assert {"items", "total", "page", "page_size", "next"} <= set(body), (path, body.keys())
        assert "data" not in body
        assert list(body)[-1] == "items", "scalars first, items last: %s" % list(body)


# ---- CORS ------------------------------------------------------------------

ALLOWED = "https://app.example.com"


def preflight(base, origin, method="GET", path="/api/v1/risks"):
    return requests.options(base + path, headers={"Origin": origin, "Access-Control-Request-Method": method,
                                                  "Access-Control-Request-Headers": "authorization"})


def test_cors_is_off_by_default(tokens):
    r = preflight(BASE, ALLOWED)
    assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in r.headers
    r = requests.get(API + "/stats", headers=dict(auth(tokens["viewer"]), Origin=ALLOWED))
    assert r.status_code == 200
    assert not [h for h in r.headers if h.lower().startswith("access-control-")]
    assert "Vary" not in r.headers
    # a plain OPTIONS says what the path allows
    r = requests.options(API + "/risks/" + TENANT_A)
    assert r.status_code == 204 and r.headers["Allow"] == "GET, PATCH, DELETE, OPTIONS"


def test_cors_preflight_allowed_and_refused_by_configuration(private_gateway, tokens):
    gw = private_gateway("--cors-origins", ALLOWED + ", http://localhost:3000", "--cors-credentials", "on",
                         "--cors-max-age", "90s")
    r = preflight(gw.base, ALLOWED, "PATCH", "/api/v1/risks/" + TENANT_A)
    assert r.status_code == 204, r.text
    assert r.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, PATCH, DELETE"
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert r.headers["Access-Control-Max-Age"] == "90"
    assert "Origin" in r.headers["Vary"]
    # another origin, or a method the path does not have: refused
    for origin, method in (("https://evil.example", "GET"), ("https://app.example.com.evil.example", "GET"),
                           (ALLOWED, "PUT")):
        r = preflight(gw.base, origin, method)
        assert r.status_code == 403 and r.json()["error"]["code"] == "origin_not_allowed", (origin, method)
        assert "Access-Control-Allow-Origin" not in r.headers
    # actual requests: the allowed origin may read the reply, another may not; both vary by Origin
    r = requests.get(gw.base + "/api/v1/stats", headers=dict(auth(tokens["viewer"]), Origin=ALLOWED))
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "X-Request-Id" in r.headers["Access-Control-Expose-Headers"]
    assert r.headers["Vary"] == "Origin"
    r = requests.get(gw.base + "/api/v1/stats", headers=dict(auth(tokens["viewer"]), Origin="https://evil.example"))
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers and r.headers["Vary"] == "Origin"
    # errors carry them too (a browser must be able to read a 401)
    r = requests.get(gw.base + "/api/v1/stats", headers={"Origin": ALLOWED})
    assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == ALLOWED


def test_cors_any_origin_never_with_credentials(private_gateway):
    gw = private_gateway("--cors-origins", "*")
    r = preflight(gw.base, "https://anyone.example")
    assert r.status_code == 204 and r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in r.headers
    from conftest import GW_BIN
    bad = subprocess.run([GW_BIN, "--cors-origins", "*", "--cors-credentials", "on", "--jwt-secret", "x" * 32],
                         capture_output=True, text=True, timeout=10)
    assert bad.returncode == 2 and "credentials" in bad.stderr


# ---- Link and Server-Timing ------------------------------------------------

def link_targets(r):
    return dict((rel, url) for url, rel in re.findall(r'<([^>]+)>; rel="(\w+)"', r.headers.get("Link", "")))


def test_link_next_and_prev(tokens):
    h = auth(tokens["viewer"])
    first = requests.get(API + "/risks?page_size=4&sort_by=title&sort_dir=asc&severity=low", headers=h)
    links = link_targets(first)
    assert "prev" not in links
    assert links["next"] == ("/api/v1/risks?page_size=4&sort_by=title&sort_dir=asc&severity=low&after="
                             + first.json()["next"])
    # following rel=next is following the cursor
    second = requests.get(BASE + links["next"], headers=h)
    assert second.status_code == 200 and second.json()["page"] is None
    page2 = requests.get(API + "/risks?page_size=4&sort_by=title&sort_dir=asc&severity=low&page=2", headers=h)
    assert [i["id"] for i in second.json()["items"]] == [i["id"] for i in page2.json()["items"]]
    # numbered page 2: prev is page 1 with every other parameter kept
    links = link_targets(page2)
    assert links["prev"] == "/api/v1/risks?page_size=4&sort_by=title&sort_dir=asc&severity=low&page=1"
    prev = requests.get(BASE + links["prev"], headers=h)
    assert prev.json()["items"] == first.json()["items"]
    # numbered lists without a cursor: page+1 while there is more
    conn = requests.get(API + "/marketplace/connectors?page_size=5&page=2", headers=h)
    links = link_targets(conn)
    assert links["next"] == "/api/v1/marketplace/connectors?page_size=5&page=3"
    assert links["prev"] == "/api/v1/marketplace/connectors?page_size=5&page=1"
    last = requests.get(API + "/risks?page_size=200&q=zzzz-no-such-title", headers=h)
    assert "Link" not in last.headers


def test_server_timing(tokens):
    h = auth(tokens["viewer"])
    requests.get(API + "/stats?period=quarter", headers=h)
    r = requests.get(API + "/stats?period=quarter", headers=h)
    timing = r.headers["Server-Timing"]
    assert re.search(r"\bdb;dur=\d+\.\d+", timing) and re.search(r"\bpool;dur=\d+\.\d+", timing), timing
    assert "cache;desc=HIT" in timing and r.headers["X-Cache"] == "HIT"
    r = requests.post(API + "/risks", headers=auth(tokens["analyst"]), json={"title": "timed", "impact": 1,
                                                                             "probability": 1})
    assert r.status_code == 201 and "db;dur=" in r.headers["Server-Timing"]


# ---- a 413 a real client can read --------------------------------------------

NODE_413 = r"""
import http from 'node:http';
const [url, token, size] = process.argv.slice(2);
const body = JSON.stringify({title: 'x', description: 'y'.repeat(Number(size))});
function viaHttp() {
  return new Promise((resolve) => {
    const u = new URL(url);
    const req = http.request({host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
      headers: {'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
                Authorization: 'Bearer ' + token}},
      (res) => { let d = ''; res.on('data', (c) => d += c);
                 res.on('end', () => resolve({status: res.statusCode, body: d})); });
    req.on('error', (e) => resolve({error: e.code || String(e)}));
    req.end(body);
  });
}
async function viaFetch() {
  try {
    const r = await fetch(url, {method: 'POST', body,
      headers: {'Content-Type': 'application/json', Authorization: 'Bearer ' + token}});
    return {status: r.status, body: await r.text()};
  } catch (e) { return {error: String((e.cause && e.cause.code) || e)}; }
}
const out = [];
for (let i = 0; i < 3; i++) { out.push(await viaHttp()); out.push(await viaFetch()); }
console.log(JSON.stringify(out));
"""


@pytest.mark.parametrize("size", [(1 << 20) + 100, 12 << 20])
def test_413_is_readable_by_node_http_and_fetch(tokens, tmp_path, size):
    """Straight to the gateway (a proxy would buffer the body): without the
    drain, Node saw EPIPE / ECONNRESET for bodies of a few MB."""
    script = tmp_path / "post413.mjs"
    script.write_text(NODE_413)
    out = subprocess.run(["node", str(script), DIRECT_BASE + "/api/v1/risks", tokens["analyst"], str(size)],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)
    assert [r.get("status", r.get("error")) for r in results] == [413] * 6, results
    for r in results:
        assert json.loads(r["body"])["error"]["code"] == "payload_too_large"


# ---- errors: one code per kind, our words only --------------------------------

@pytest.mark.parametrize("method,path,body,fragment", [
    ("GET", "/risks/nope", None, "must be a UUID"),
    ("DELETE", "/risks/nope", None, "must be a UUID"),
    ("GET", "/marketplace/connectors/123", None, "must be a UUID"),
    ("GET", "/risks?page=abc", None, "page must be an integer"),
    ("GET", "/risks?page_size=99999999999", None, "page_size must be an integer"),
    ("GET", "/stats/trends?days=1.5", None, "days must be an integer"),
    ("POST", "/risks", '{"title": "x", "impact": 1, "probability": 1, "asset_ids": ["nope"]}', "asset_ids"),
    ("POST", "/risks", '{"title": "x", "impact": 1e30, "probability": 1}', "impact must be an integer"),
    ("POST", "/risks", '{"title": "a\\u0000b", "impact": 1, "probability": 1}', "\\u0000"),
    ("POST", "/risks", '{"title": "x", "impact": 9, "probability": 1}', "impact must be an integer between 1 and 5"),
    ("POST", "/risks", '{"impact": 1, "probability": 1}', "title is required"),
    ("POST", "/risks", '{"title": "x", "impact": 1, "probability": 1, "status": "ACTIVE"}', "new risks are DRAFT"),
    ("POST", "/risks", '{"title": ', None),
    ("POST", "/risks", '{"title" "x"}', None),
    ("POST", "/risks", '{"a": [1, 2', None),
    ("POST", "/risks", '{} {}', None),
    ("PATCH", "/risks/00000000-0000-4000-8000-00000000dead", '{"title": null}', None),
])
def test_errors_are_bad_request_in_our_words(tokens, method, path, body, fragment):
    try:
        json.loads(body or "null")
        base = API
    except ValueError:  # the validating proxy answers malformed JSON itself: straight to the gateway
        base = DIRECT_BASE + "/api/v1"
    r = requests.request(method, base + path, data=body, headers=dict(auth(tokens["admin"]),
                                                                    **{"Content-Type": "application/json"}))
    assert r.status_code in (400, 404), r.text
    err = r.json()["error"]
    if r.status_code == 400:
        assert err["code"] == "bad_request", err
    assert not RAW_DB_TEXT.search(err["message"]), err
    if fragment:
        assert fragment in err["message"], err
    if body and body.startswith("{") and fragment is None and r.status_code == 400:
        assert err["message"].startswith("the request body is not valid JSON"), err
