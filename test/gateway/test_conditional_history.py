"""Conditional writes (ETag / If-Match) and the audit trail (issue 13, items 2-3).

A risk's ETag is the engine's hash of GET /risks/{id}'s body; PATCH and
DELETE compare If-Match with it under the risk's row lock, answer 412 with
the current ETag when it moved on and change nothing, and return the new
ETag.  Every write records the token's sub and the request id in the
risk's history, which GET /risks/{id}/history pages, cached.
"""
import requests

from conftest import API, TENANT_B, auth, mint
from test_api import error_of


def create(token, **fields):
    body = {"title": "conditional test", "impact": 2, "probability": 3}
    body.update(fields)
    r = requests.post(API + "/risks", headers=auth(token), json=body)
    assert r.status_code == 201, r.text
    return r


def row(db, rid):
    return db.execute("SELECT title, impact, updated_at, deleted_at FROM openrisk.risks WHERE id = %s",
                      (rid,)).fetchone()


def history_rows(db, rid):
    return db.execute("SELECT change_type, actor, request_id FROM openrisk.risk_history WHERE risk_id = %s "
                      "ORDER BY id", (rid,)).fetchall()


def test_writes_return_the_etag_get_returns(tokens):
    h = auth(tokens["analyst"])
    r = create(tokens["analyst"])
    rid, created_etag = r.json()["id"], r.headers["ETag"]
    first = requests.get(API + "/risks/" + rid, headers=h)
    second = requests.get(API + "/risks/" + rid, headers=h)
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.headers["ETag"] == second.headers["ETag"] == created_etag
    assert first.content == r.content
    p = requests.patch(API + "/risks/" + rid, headers=dict(h, **{"If-Match": created_etag}), json={"impact": 4})
    assert p.status_code == 200, p.text
    assert p.headers["ETag"] != created_etag
    g = requests.get(API + "/risks/" + rid, headers=h)
    assert g.headers["ETag"] == p.headers["ETag"] and g.content == p.content
    # If-None-Match and If-Match agree on what a representation is
    assert requests.get(API + "/risks/" + rid, headers=dict(h, **{"If-None-Match": p.headers["ETag"]})).status_code == 304


def test_stale_if_match_is_412_and_changes_nothing(tokens, db):
    h = auth(tokens["analyst"])
    rid = create(tokens["analyst"]).json()["id"]
    seen = requests.get(API + "/risks/" + rid, headers=h).headers["ETag"]
    other = requests.patch(API + "/risks/" + rid, headers=dict(h, **{"If-Match": seen}), json={"title": "theirs"})
    assert other.status_code == 200
    current = other.headers["ETag"]
    before, history_before = row(db, rid), history_rows(db, rid)

    mine = requests.patch(API + "/risks/" + rid, headers=dict(h, **{"If-Match": seen}), json={"title": "mine"})
    err = error_of(mine, 412, "precondition_failed")
    assert "changed" in err["message"]
    assert mine.headers["ETag"] == current
    assert row(db, rid) == before and history_rows(db, rid) == history_before
    assert requests.get(API + "/risks/" + rid, headers=h).json()["title"] == "theirs"

    admin = auth(tokens["admin"])
    gone = requests.delete(API + "/risks/" + rid, headers=dict(admin, **{"If-Match": seen}))
    error_of(gone, 412, "precondition_failed")
    assert gone.headers["ETag"] == current
    assert row(db, rid)[3] is None  # deleted_at
    assert requests.delete(API + "/risks/" + rid, headers=dict(admin, **{"If-Match": current})).status_code == 204
    assert row(db, rid)[3] is not None


def test_if_match_forms(tokens):
    h = auth(tokens["analyst"])
    rid = create(tokens["analyst"]).json()["id"]
    url = API + "/risks/" + rid
    etag = requests.get(url, headers=h).headers["ETag"]
    error_of(requests.patch(url, headers=dict(h, **{"If-Match": "W/" + etag}), json={"impact": 1}), 412)
    r = requests.patch(url, headers=dict(h, **{"If-Match": '"0123456789abcdef", ' + etag}), json={"impact": 1})
    assert r.status_code == 200, r.text
    assert requests.patch(url, headers=dict(h, **{"If-Match": "*"}), json={"impact": 2}).status_code == 200
    assert requests.patch(url, json={"impact": 3}, headers=h).status_code == 200  # unconditional
    err = error_of(requests.patch(url, headers=dict(h, **{"If-Match": "not-an-etag"}), json={"impact": 4}), 400,
                   "bad_request")
    assert "If-Match" in err["message"]
    error_of(requests.patch(API + "/risks/00000000-0000-4000-8000-0000000000aa", headers=dict(h, **{"If-Match": "*"}),
                            json={"impact": 4}), 404, "not_found")


def test_history_records_the_actor_and_request_id(tokens, db):
    alice = mint("analyst", sub="alice@example.com")
    admin = mint("admin", sub="root@example.com")
    created = create(alice)
    rid = created.json()["id"]
    patched = requests.patch(API + "/risks/" + rid, headers=auth(alice), json={"status": "active", "impact": 5})
    deleted = requests.delete(API + "/risks/" + rid, headers=auth(admin))
    assert patched.status_code == 200 and deleted.status_code == 204
    want = [("CREATE", "alice@example.com", created.headers["X-Request-Id"]),
            ("UPDATE", "alice@example.com", patched.headers["X-Request-Id"]),
            ("DELETE", "root@example.com", deleted.headers["X-Request-Id"])]
    assert history_rows(db, rid) == want
    body = requests.get(API + "/risks/" + rid + "/history", headers=auth(tokens["viewer"])).json()
    assert [(i["change_type"], i["actor"], i["request_id"]) for i in body["items"]] == want[::-1]
    assert body["items"][1]["changed_fields"] == ["impact", "score", "status"]
    assert body["total"] == 3


def test_history_is_paged_cached_and_invalidated_per_risk(tokens):
    h = auth(tokens["analyst"])
    rid = create(tokens["analyst"]).json()["id"]
    other = create(tokens["analyst"]).json()["id"]
    for title in ("one", "two", "three"):
        assert requests.patch(API + "/risks/" + rid, headers=h, json={"title": title}).status_code == 200
    url = API + "/risks/" + rid + "/history"
    first, again = requests.get(url, headers=h), requests.get(url, headers=h)
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.json()["total"] == 4
    page2 = requests.get(url + "?page=2&page_size=2", headers=h).json()
    assert [i["change_type"] for i in page2["items"]] == ["UPDATE", "CREATE"] and page2["page"] == 2
    other_url = API + "/risks/" + other + "/history"
    requests.get(other_url, headers=h)
    assert requests.patch(API + "/risks/" + rid, headers=h, json={"title": "four"}).status_code == 200
    after = requests.get(url, headers=h)
    assert after.headers["X-Cache"] == "MISS" and after.json()["total"] == 5
    assert requests.get(other_url, headers=h).headers["X-Cache"] == "HIT"  # another risk's history stays cached


def test_history_errors(tokens, tokens_b):
    h = auth(tokens["viewer"])
    rid = create(tokens["analyst"]).json()["id"]
    error_of(requests.get(API + "/risks/" + rid + "/history", headers=auth(tokens_b["viewer"])), 404, "not_found")
    error_of(requests.get(API + "/risks/00000000-0000-4000-8000-0000000000aa/history", headers=h), 404)
    error_of(requests.get(API + "/risks/" + rid + "/history?page=0", headers=h), 400, "bad_request")
    error_of(requests.get(API + "/risks/" + rid + "/history?after=x", headers=h), 400, "bad_request")
    error_of(requests.get(API + "/risks/" + rid + "/history"), 401, "unauthorized")
    assert TENANT_B not in requests.get(API + "/risks/" + rid + "/history", headers=h).text
