#!/usr/bin/python3
"""Randomized property test of the aggregates kept at commit.

Why: sql/25_aggregates.sql keeps every dashboard figure by adding the
difference of each write.  The pgTAP file 37_aggregates.sql checks one
write of each kind; this drives long random sequences of every kind of
write -- creates (API and plain SQL, back- and future-dated), PATCHes of
every field, soft and hard deletes, undeletes, bulk UPDATEs, mitigations
added / completed / removed, asset links and criticality changes --
inside random transactions that commit, roll back, or roll back to a
savepoint, with reads through the cache in between.  It then requires:

  * every aggregate equals the from-scratch computation
    (openrisk.aggregates_verify returns no row);
  * every dashboard / matrix / timeline read from the aggregates equals
    its oracle in sql/55_dashboard_oracles.sql;
  * every cached endpoint answer equals the uncached one.

Usage: aggregates_property.py --dsn DSN [--seeds 1,2,3] [--ops 1000]
       [--sabotage] (disables the UPDATE aggregate trigger, so the test
       must report failures: --expect-failure makes that the pass).
Prints TAP lines ("ok - ..." / "not ok - ...").
"""
import argparse
import json
import random
import sys

import psycopg

PERIODS = ["week", "month", "quarter", "year", "all"]
DAYS = [1, 7, 30, 90, 365]
STATUSES = ["DRAFT", "ACTIVE", "MITIGATED", "ACCEPTED"]
SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"]
WORDS = ["ransomware", "phishing", "outage", "vendor", "backup", "audit", "leak"]


class Run:
    def __init__(self, conn, rng, tenant, other):
        self.conn, self.rng, self.tenant, self.other = conn, rng, tenant, other

    def one(self, sql, *args):
        return self.conn.execute(sql, args).fetchone()

    def risk_ids(self, live=True):
        rows = self.conn.execute(
            "SELECT id FROM openrisk.risks WHERE tenant_id = %s" + (" AND deleted_at IS NULL" if live else ""),
            (self.tenant,)).fetchall()
        return [r[0] for r in rows]

    def pick_risk(self, live=True):
        ids = self.risk_ids(live)
        return self.rng.choice(ids) if ids else None

    # ---- writes ---------------------------------------------------------
    def create(self):
        r = self.rng
        if r.random() < 0.5:
            body = {"title": "%s %d" % (r.choice(WORDS), r.randint(1, 10**6)), "impact": r.randint(1, 5),
                    "probability": r.randint(1, 5), "tags": [r.choice(WORDS)]}
            self.one("SELECT openrisk.risk_create(%s, %s)", self.tenant, json.dumps(body))
        else:
            self.one("""INSERT INTO openrisk.risks (tenant_id, title, impact, probability, status, created_at, updated_at)
                        VALUES (%s, %s, %s, %s, %s, now() + %s * interval '1 hour', now()) RETURNING id""",
                     self.tenant, "plain %d" % r.randint(1, 10**6), r.randint(1, 5), r.randint(1, 5),
                     r.choice(STATUSES), r.randint(-24 * 500, 24 * 5))

    def patch(self):
        rid = self.pick_risk()
        if rid is None:
            return
        r = self.rng
        fields = {
            "title": lambda: "%s patched %d" % (r.choice(WORDS), r.randint(1, 999)),
            "description": lambda: r.choice([None, "desc %d" % r.randint(1, 99)]),
            "impact": lambda: r.randint(1, 5), "probability": lambda: r.randint(1, 5),
            "status": lambda: r.choice(STATUSES), "tags": lambda: [r.choice(WORDS)],
            "frameworks": lambda: r.choice([[], ["NIST"], ["ISO27001", "SOC2"]]),
            "owner": lambda: r.choice([None, "o%d@x" % r.randint(1, 9)]),
            "source": lambda: r.choice(["MANUAL", "THEHIVE", "OPENRMF"]),
            "external_id": lambda: r.choice([None, "e%d" % r.randint(1, 99)]),
            "custom_fields": lambda: {"k": r.randint(1, 9)},
            "asset_ids": lambda: r.sample(self.assets(), r.randint(0, 2)),
        }
        body = {k: fields[k]() for k in r.sample(sorted(fields), r.randint(1, 4))}
        self.one("SELECT openrisk.risk_update(%s, %s, %s)", self.tenant, rid, json.dumps(body))

    def assets(self):
        return [str(a[0]) for a in self.conn.execute(
            "SELECT id FROM openrisk.assets WHERE tenant_id = %s", (self.tenant,)).fetchall()]

    def soft_delete(self):
        rid = self.pick_risk()
        if rid:
            self.one("SELECT openrisk.risk_delete(%s, %s)", self.tenant, rid)

    def undelete(self):
        self.conn.execute("""UPDATE openrisk.risks SET deleted_at = NULL
                              WHERE id = (SELECT id FROM openrisk.risks WHERE tenant_id = %s AND deleted_at IS NOT NULL
                                          ORDER BY random() LIMIT 1)""", (self.tenant,))

    def hard_delete(self):
        rid = self.pick_risk(live=False)
        if rid:
            self.conn.execute("DELETE FROM openrisk.risks WHERE id = %s", (rid,))

    def bulk(self):
        r = self.rng
        tenants = [self.tenant, self.other] if r.random() < 0.3 else [self.tenant]
        impact = r.randint(1, 5)
        k = r.randint(0, 2)
        if k == 0:
            self.conn.execute("UPDATE openrisk.risks SET status = %s WHERE tenant_id = ANY(%s) AND impact = %s",
                              (r.choice(STATUSES), tenants, impact))
        elif k == 1:
            self.conn.execute("""UPDATE openrisk.risks SET probability = 1 + (probability %% 5)
                                  WHERE tenant_id = ANY(%s) AND impact = %s""", (tenants, impact))
        else:
            self.conn.execute("""UPDATE openrisk.risks SET created_at = created_at - interval '40 days'
                                  WHERE tenant_id = ANY(%s) AND impact = %s""", (tenants, impact))

    def mitigation(self):
        r = self.rng
        k = r.randint(0, 2)
        if k == 0:
            rid = self.pick_risk()
            if rid:
                self.conn.execute("INSERT INTO openrisk.mitigations (risk_id, tenant_id, title, status) VALUES (%s, %s, 'm', %s)",
                                  (rid, self.tenant, r.choice(["PLANNED", "IN_PROGRESS", "DONE"])))
        elif k == 1:
            self.conn.execute("""UPDATE openrisk.mitigations SET status = %s
                                  WHERE id = (SELECT id FROM openrisk.mitigations WHERE tenant_id = %s ORDER BY random() LIMIT 1)""",
                              (r.choice(["PLANNED", "IN_PROGRESS", "DONE"]), self.tenant))
        else:
            self.conn.execute("""DELETE FROM openrisk.mitigations
                                  WHERE id = (SELECT id FROM openrisk.mitigations WHERE tenant_id = %s ORDER BY random() LIMIT 1)""",
                              (self.tenant,))

    def asset(self):
        self.conn.execute("""UPDATE openrisk.assets SET criticality = %s
                              WHERE id = (SELECT id FROM openrisk.assets WHERE tenant_id = %s ORDER BY random() LIMIT 1)""",
                          (self.rng.choice(SEVERITIES), self.tenant))

    def fold(self):
        self.conn.execute("SELECT openrisk._aggregates_fold(%s)", (self.tenant,))

    WRITES = [(create, 4), (patch, 6), (soft_delete, 1), (undelete, 1), (hard_delete, 1), (bulk, 1),
              (mitigation, 3), (asset, 1), (fold, 1)]

    def random_write(self):
        fns, weights = zip(*self.WRITES)
        self.rng.choices(fns, weights)[0](self)

    # ---- reads and checks -----------------------------------------------
    def endpoint_calls(self):
        t = self.tenant
        r = self.rng
        return [("SELECT * FROM openrisk.dashboard_stats_meta(%s, %s)", (t, r.choice(PERIODS))),
                ("SELECT * FROM openrisk.risk_matrix_meta(%s, %s)", (t, r.choice(PERIODS))),
                ("SELECT * FROM openrisk.dashboard_matrix_meta(%s)", (t,)),
                ("SELECT * FROM openrisk.dashboard_timeline_meta(%s, %s)", (t, r.choice(DAYS))),
                ("SELECT * FROM openrisk.risk_list_meta(%s, %s, 10, %s, %s, NULL, %s, %s)",
                 (t, r.randint(1, 3), r.choice([None] + SEVERITIES), r.choice([None] + STATUSES),
                  r.choice(["score", "title", "created_at", "updated_at"]), r.choice(["asc", "desc"]))),
                ("SELECT * FROM openrisk.risk_search_meta(%s, %s)", (t, self.search_query()))]

    def search_query(self):
        """A word, or two combined: AND and a phrase (anchored on a lexeme),
        OR and NOT (unanchored) -- every kind of search key."""
        r = self.rng
        a, b = r.choice(WORDS), r.choice(WORDS)
        return r.choice([a, "%s %s" % (a, b), '"%s patched"' % a, "%s or %s" % (a, b), "%s -%s" % (a, b)])

    def cached_vs_fresh(self):
        """Read one random endpoint through the cache (twice, so a stored
        value is served) and with the cache off; differences are failures."""
        sql, args = self.rng.choice(self.endpoint_calls())
        self.conn.execute(sql, args)
        cached = self.conn.execute(sql, args).fetchone()
        self.conn.execute("SET LOCAL openrisk.cache_enabled = off")
        fresh = self.conn.execute(sql, args).fetchone()
        self.conn.execute("SET LOCAL openrisk.cache_enabled = on")
        self.conn.commit()
        if json.loads(cached[2]) != json.loads(fresh[2]):
            return ["cached != uncached: %s %s" % (sql.split("openrisk.")[1].split("(")[0], args[1:])]
        return []

    def aggregate_problems(self):
        t = self.tenant
        probs = [" ".join(map(str, row[:3])) for row in self.conn.execute(
            "SELECT family, grain, bucket::text FROM openrisk.aggregates_verify(%s)", (t,)).fetchall()]
        for p in PERIODS:
            for fn in ("dashboard_stats", "risk_matrix"):
                a, b = self.one("SELECT openrisk._%s_compute(%%s, %%s)::jsonb, openrisk._%s_scan(%%s, %%s)::jsonb" % (fn, fn),
                                t, p, t, p)
                if a != b:
                    probs.append("%s %s" % (fn, p))
        a, b = self.one("SELECT openrisk._dashboard_matrix_compute(%s)::jsonb, openrisk._dashboard_matrix_scan(%s)::jsonb", t, t)
        if a != b:
            probs.append("dashboard_matrix")
        for d in DAYS:
            a, b = self.one("SELECT openrisk._dashboard_timeline_compute(%s, %s)::jsonb, openrisk._dashboard_timeline_scan(%s, %s)::jsonb",
                            t, d, t, d)
            if a != b:
                probs.append("timeline %d" % d)
        self.conn.commit()
        return probs


def run_seed(dsn, seed, ops, sabotage):
    rng = random.Random(seed)
    conn = psycopg.connect(dsn)
    conn.execute("SET client_min_messages = warning")
    if sabotage:
        conn.execute("ALTER TABLE openrisk.risks DISABLE TRIGGER risks_aggregate_update")
        conn.commit()
    try:
        return exercise(conn, rng, ops)
    finally:
        if sabotage:
            conn.rollback()
            conn.execute("ALTER TABLE openrisk.risks ENABLE TRIGGER risks_aggregate_update")
            conn.commit()
        conn.close()


def exercise(conn, rng, ops):
    tenant, other = [conn.execute("INSERT INTO openrisk.tenants (id, name) VALUES (gen_random_uuid(), %s) RETURNING id",
                                  ("property %s" % n,)).fetchone()[0] for n in "ab"]
    conn.execute("INSERT INTO openrisk.assets (tenant_id, name, criticality) SELECT %s, 'asset ' || i, %s FROM generate_series(1, 4) i",
                 (tenant, "MEDIUM"))
    conn.commit()
    run = Run(conn, rng, tenant, other)
    for _ in range(30):
        run.create()
    Run(conn, rng, other, tenant).create()
    conn.commit()
    problems, outcomes, reads = [], {"commit": 0, "rollback": 0, "savepoint": 0}, 0
    done = 0
    while done < ops:
        kind = rng.choices(["commit", "rollback", "savepoint"], [7, 2, 2])[0]
        n = rng.randint(1, 5)
        try:
            if kind == "savepoint":
                run.random_write()
                with conn.transaction():  # a savepoint inside the open transaction
                    for _ in range(n):
                        run.random_write()
                    raise psycopg.Rollback()
            for _ in range(n):
                run.random_write()
            conn.rollback() if kind == "rollback" else conn.commit()
        except psycopg.errors.Error as e:  # e.g. a random PATCH violating a rule: rolled back, like a client's
            conn.rollback()
            kind = "error %s" % e.sqlstate
        if kind == "savepoint":
            conn.commit()
        outcomes[kind] = outcomes.get(kind, 0) + 1
        done += n + (1 if kind == "savepoint" else 0)
        if rng.random() < 0.3:
            problems += run.cached_vs_fresh()
            reads += 1
        if done % 100 < n or done >= ops:
            problems += ["after %d ops: %s" % (done, p) for p in run.aggregate_problems()]
    problems += ["other tenant: %s" % p for p in Run(conn, rng, other, tenant).aggregate_problems()]
    return problems, outcomes, reads, done


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--ops", type=int, default=1000)
    ap.add_argument("--sabotage", action="store_true")
    ap.add_argument("--expect-failure", action="store_true")
    a = ap.parse_args()
    failed = 0
    for seed in [int(s) for s in a.seeds.split(",")]:
        problems, outcomes, reads, done = run_seed(a.dsn, seed, a.ops, a.sabotage)
        for p in problems[:5]:
            print("#   seed %d: %s" % (seed, p))
        what = "seed %d: %d operations (%s), %d cached reads" % (
            seed, done, ", ".join("%s %d" % kv for kv in sorted(outcomes.items())), reads)
        good = bool(problems) if a.expect_failure else not problems
        print(("ok - " if good else "not ok - ") +
              (what + (": %d problems found, as expected" % len(problems) if a.expect_failure else
                       ": aggregates = scratch, dashboards = oracles, cached = uncached")))
        failed += not good
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
