#!/usr/bin/env python3
"""sqlparts.py -- generate the extension's upgrade script from the sources.

    sqlparts.py upgrade --deltas DELTAS.sql --post POST.sql PART.sql...

prints openrisk--<old>--<new>.sql (see extension/Makefile for its four
steps).  The sources stay the one place where a function, trigger or view
is written: the upgrade re-creates every one of them from the same text a
fresh install runs, so a fresh and an upgraded installation cannot drift
apart in code (test/suites/31-upgrade.sh compares their catalogs).

The parts are split into statements (quotes, dollar quotes and comments
understood) and each statement is classified by its leading keywords:

  schema   CREATE TABLE / INDEX / TYPE / SEQUENCE, ALTER TABLE, INSERT,
           COMMENT ON CONSTRAINT|TABLE|COLUMN    -> skipped: the deltas own them
  code     everything else (CREATE FUNCTION / AGGREGATE / TRIGGER / VIEW,
           GRANT, REVOKE, COMMENT ON FUNCTION, DO blocks) -> re-created;
           CREATE FUNCTION and CREATE AGGREGATE become CREATE OR REPLACE,
           because a function a table needs (a generated column's, an
           index expression's) is kept by step 1 and replaced in place.

psql meta-commands (the "\\echo ... \\quit" guard) are dropped from the parts
and written once at the top.
"""
import argparse
import re
import sys

SCHEMA = re.compile(
    r"^(CREATE\s+(UNIQUE\s+)?INDEX|CREATE\s+TABLE|CREATE\s+TYPE|CREATE\s+SEQUENCE|ALTER\s+TABLE|INSERT\s+INTO"
    r"|COMMENT\s+ON\s+(CONSTRAINT|TABLE|COLUMN))\b", re.I)


def statements(text):
    """Split SQL text into (leading comments + statement) chunks, each ending with ';'."""
    out, i, start, n = [], 0, 0, len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            j = text.find("\n", i)
            i = n if j < 0 else j + 1
        elif c == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            i = n if j < 0 else j + 2
        elif c == "'":
            j = i + 1
            while j < n:
                if text[j] == "'" and text.startswith("''", j):
                    j += 2
                elif text[j] == "\\" and i > 0 and text[i - 1] in "eE":
                    j += 2
                elif text[j] == "'":
                    break
                else:
                    j += 1
            i = j + 1
        elif c == "$":
            m = re.match(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$", text[i:])
            if m and not (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")):
                tag = m.group(0)
                j = text.find(tag, i + len(tag))
                if j < 0:
                    raise SystemExit("unterminated dollar quote %s" % tag)
                i = j + len(tag)
            else:
                i += 1
        elif c == "\\" and (i == 0 or text[i - 1] == "\n"):
            j = text.find("\n", i)  # a psql meta-command line
            i = n if j < 0 else j + 1
            out.append(("meta", text[start:i]))
            start = i
        elif c == ";":
            out.append(("sql", text[start:i + 1]))
            i += 1
            start = i
        else:
            i += 1
    if text[start:].strip():
        tail = re.sub(r"--[^\n]*", "", text[start:]).strip()
        if tail:
            raise SystemExit("statement without ';' at the end: %r" % tail[:80])
    return out


def head(stmt):
    """The statement without its leading comments and blank lines."""
    s = stmt
    while True:
        s = s.lstrip()
        if s.startswith("--"):
            s = s[s.find("\n") + 1:] if "\n" in s else ""
        elif s.startswith("/*"):
            s = s[s.find("*/") + 2:]
        else:
            return s


DROP_CODE = r"""
-- Step 1: drop the code of the installed version.  Triggers, views,
-- aggregates and functions are all re-created below from the sources;
-- a function that a table needs (a generated column, an index or a check
-- uses it) is kept and replaced in place.  Objects outside the extension
-- that use its functions make this fail rather than be dropped with them.
DO $upgrade$
DECLARE
    ext oid := (SELECT oid FROM pg_extension WHERE extname = 'openrisk');
    o record;
BEGIN
    FOR o IN SELECT t.tgname, t.tgrelid::regclass AS tbl
               FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
              WHERE c.relnamespace = '@extschema@'::regnamespace AND NOT t.tgisinternal
    LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', o.tgname, o.tbl);
    END LOOP;
    FOR o IN SELECT d.objid::regclass AS v
               FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
              WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_extension'::regclass
                AND d.refobjid = ext AND d.deptype = 'e' AND c.relkind = 'v'
    LOOP
        EXECUTE format('DROP VIEW %s', o.v);
    END LOOP;
    FOR o IN SELECT p.oid::regprocedure AS f, p.prokind
               FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
              WHERE d.classid = 'pg_proc'::regclass AND d.refclassid = 'pg_extension'::regclass
                AND d.refobjid = ext AND d.deptype = 'e'
                AND NOT EXISTS (SELECT 1 FROM pg_depend x
                                 WHERE x.refclassid = 'pg_proc'::regclass AND x.refobjid = p.oid
                                   AND x.classid IN ('pg_class'::regclass, 'pg_attrdef'::regclass,
                                                     'pg_constraint'::regclass))
              ORDER BY p.prokind = 'a' DESC   -- aggregates before their support functions
    LOOP
        EXECUTE format('DROP %s %s', CASE WHEN o.prokind = 'a' THEN 'AGGREGATE' ELSE 'FUNCTION' END, o.f);
    END LOOP;
END
$upgrade$;
"""


def upgrade(args):
    w = sys.stdout.write
    w("-- GENERATED by extension/tools/sqlparts.py from sql/upgrade/*.sql and the\n"
      "-- install script's sources; edit those, never this file.\n")
    w('\\echo Use "ALTER EXTENSION openrisk UPDATE" to load this file. \\quit\n')
    w(DROP_CODE)
    w("\n-- Step 2: schema deltas (%s)\n" % args.deltas)
    w(open(args.deltas).read())
    w("\n-- Step 3: the code of this version, from the sources\n")
    for part in args.parts:
        w("\n-- from %s\n" % part)
        for kind, stmt in statements(open(part).read()):
            if kind == "meta":
                continue
            body = head(stmt)
            if SCHEMA.match(body):
                continue
            body = re.sub(r"^CREATE\s+(FUNCTION|AGGREGATE)\b", r"CREATE OR REPLACE \1", body, flags=re.I)
            w(body.rstrip() + "\n")
    w("\n-- Step 4: back-fills that need this version's functions (%s)\n" % args.post)
    w(open(args.post).read())


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("upgrade")
    up.add_argument("--deltas", required=True)
    up.add_argument("--post", required=True)
    up.add_argument("parts", nargs="+")
    args = ap.parse_args()
    if args.cmd == "upgrade":
        upgrade(args)


if __name__ == "__main__":
    main()
