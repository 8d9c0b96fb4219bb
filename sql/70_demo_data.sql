-- sql/70_demo_data.sql -- openrisk.generate_demo_data(tenants, risks_per_tenant, seed).
--
-- Why this file exists: the benchmarks, the load tests and a developer's
-- first `make run` all need realistic data of a known size, fast: 100k
-- risks with assets, links, mitigations and a year of history, plus the
-- connector catalogue, in well under a minute on a 2-core machine.
--
-- How it stays fast and honest:
--   * set-based INSERT ... SELECT generate_series, one statement per table,
--     so the statement-level history and invalidation triggers run once
--     per statement, not once per row;
--   * the data goes through the same triggers as any write (scores, history,
--     invalidation are the database's, not the generator's): links are
--     inserted first with the risk foreign key deferred, so the risk insert
--     trigger scores each risk once, with its assets;
--   * later events (mitigated, accepted, deleted) are back-dated UPDATEs,
--     which give the timeline a real year of history;
--   * identifiers are md5 of (seed, tenant, ordinal), and random() is
--     seeded: the same arguments give the same data.
--
-- Demo tenant #n is 00000000-0000-4000-8000-<n as 12 hex digits>; tenant #1
-- is 00000000-0000-4000-8000-000000000001.  Re-running replaces the demo
-- tenants' data.

CREATE FUNCTION openrisk.demo_tenant_id(n integer)
RETURNS uuid LANGUAGE sql IMMUTABLE
AS $$ SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(n), 12, '0'))::uuid $$;

-- The marketplace catalogue: a fixed set of connectors with a few versions
-- each; inserting it twice changes nothing.
-- A uniform draw in [0, 1) from a string: for choices made while scanning
-- existing rows, whose physical order (and so random()'s sequence) changes
-- from one load to the next.
CREATE FUNCTION openrisk._demo_rand(draw text)
RETURNS float8 LANGUAGE sql IMMUTABLE
AS $$ SELECT ('x' || substr(md5(draw), 1, 8))::bit(32)::bigint / 4294967296.0 $$;

CREATE FUNCTION openrisk._demo_connectors()
RETURNS void LANGUAGE sql
AS $$
    INSERT INTO openrisk.connectors (id, name, author, version, description, category, status,
                                     capabilities, rating, install_count)
    SELECT md5('connector:' || c.name || ':' || v.version)::uuid, c.name, c.author, v.version,
           c.name || ' connector for OpenRisk (' || c.category || ')', c.category,
           CASE WHEN v.latest THEN c.status ELSE 'deprecated' END, c.capabilities,
           round(((length(c.name) * 7 + v.n * 3) % 50)::numeric / 10, 1),
           (length(c.name) * 131 + v.n * 977) % 5000
      FROM (VALUES
            ('TheHive', 'StrangeBee', 'incident', 'active', ARRAY['import', 'sync']),
            ('OpenRMF', 'Cingulara', 'compliance', 'active', ARRAY['import']),
            ('Splunk', 'Splunk', 'siem', 'active', ARRAY['import', 'alerts']),
            ('Elastic SIEM', 'Elastic', 'siem', 'active', ARRAY['import', 'alerts']),
            ('Wazuh', 'Wazuh', 'siem', 'beta', ARRAY['alerts']),
            ('Jira', 'Atlassian', 'ticketing', 'active', ARRAY['export', 'sync']),
            ('ServiceNow', 'ServiceNow', 'ticketing', 'active', ARRAY['export', 'sync']),
            ('GitHub Advanced Security', 'GitHub', 'vulnerability', 'active', ARRAY['import']),
            ('Qualys', 'Qualys', 'vulnerability', 'active', ARRAY['import']),
            ('Tenable', 'Tenable', 'vulnerability', 'active', ARRAY['import']),
            ('OpenVAS', 'Greenbone', 'vulnerability', 'beta', ARRAY['import']),
            ('AWS Security Hub', 'Amazon', 'cloud', 'active', ARRAY['import', 'alerts']),
            ('Azure Defender', 'Microsoft', 'cloud', 'active', ARRAY['import']),
            ('GCP Security Command Center', 'Google', 'cloud', 'inactive', ARRAY['import']),
            ('Slack', 'Slack', 'notification', 'active', ARRAY['notify']),
            ('Microsoft Teams', 'Microsoft', 'notification', 'active', ARRAY['notify']),
            ('PagerDuty', 'PagerDuty', 'notification', 'active', ARRAY['notify', 'sync']),
            ('MISP', 'CIRCL', 'threat-intel', 'active', ARRAY['import']),
            ('OpenCTI', 'Filigran', 'threat-intel', 'beta', ARRAY['import', 'sync']),
            ('Vanta', 'Vanta', 'compliance', 'active', ARRAY['export'])
           ) AS c(name, author, category, status, capabilities)
     CROSS JOIN (VALUES (1, '1.0.0', false), (2, '1.1.0', false), (3, '2.0.0', true)) AS v(n, version, latest)
    ON CONFLICT (name, version) DO NOTHING
$$;

-- Remove everything of the given tenants, in one statement per table.
-- Deleting a tenant by cascade would run the link and mitigation triggers
-- once per risk (each cascaded row is its own statement): minutes at 100k.
-- Triggers are off for the few statements (session_replication_role), so
-- the aggregates they would have kept are deleted and the keys they would
-- have dropped are invalidated here, explicitly.
CREATE FUNCTION openrisk._demo_forget(ids uuid[])
RETURNS void LANGUAGE plpgsql
SET session_replication_role = replica
AS $$
BEGIN
    DELETE FROM openrisk.mitigations WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.risk_assets WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.marketplace_apps WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.risks WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.assets WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.risk_history WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.tenants WHERE id = ANY (ids);
    DELETE FROM openrisk.agg WHERE tenant_id = ANY (ids);
    DELETE FROM openrisk.agg_delta WHERE tenant_id = ANY (ids);
    PERFORM openrisk._invalidate(ARRAY(SELECT openrisk._family(p)
                                         FROM unnest(ids) t, unnest(openrisk._tenant_key_prefixes(t)) p));
END
$$;

CREATE FUNCTION openrisk.generate_demo_data(tenants integer, risks_per_tenant integer, seed integer DEFAULT 42)
RETURNS SETOF uuid LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = openrisk, pg_catalog, pg_temp
AS $$
DECLARE
    ids uuid[];
    assets_per_tenant integer := greatest(10, risks_per_tenant / 100);
BEGIN
    IF tenants IS NULL OR tenants NOT BETWEEN 1 AND 1000 THEN
        PERFORM openrisk._bad_parameter('tenants must be between 1 and 1000');
    END IF;
    IF risks_per_tenant IS NULL OR risks_per_tenant NOT BETWEEN 0 AND 10000000 THEN
        PERFORM openrisk._bad_parameter('risks_per_tenant must be between 0 and 10000000');
    END IF;
    seed := coalesce(seed, 42);
    PERFORM setseed((seed % 1000000)::float8 / 1000000);
    ids := ARRAY(SELECT openrisk.demo_tenant_id(n) FROM generate_series(1, tenants) n);

    PERFORM openrisk._demo_forget(ids);
    INSERT INTO openrisk.tenants (id, name)
    SELECT openrisk.demo_tenant_id(n), 'Demo tenant ' || n FROM generate_series(1, tenants) n;

    PERFORM openrisk._demo_connectors();

    INSERT INTO openrisk.assets (id, tenant_id, name, type, criticality)
    SELECT md5(format('asset:%s:%s:%s', seed, n, j))::uuid, openrisk.demo_tenant_id(n),
           (ARRAY['web', 'db', 'api', 'mail', 'vpn', 'hr', 'erp', 'crm'])[1 + j % 8] || '-' || j,
           (ARRAY['server', 'database', 'application', 'network', 'saas'])[1 + j % 5],
           (ARRAY['LOW', 'MEDIUM', 'MEDIUM', 'HIGH', 'CRITICAL'])[1 + floor(random() * 5)::int]
      FROM generate_series(1, tenants) n, generate_series(1, assets_per_tenant) j;

    -- Links before risks (foreign key deferred): each risk gets 0..3 assets.
    -- Random draws are made in OFFSET 0 subqueries: evaluated once per row.
    SET CONSTRAINTS openrisk.risk_assets_risk_in_tenant DEFERRED;
    INSERT INTO openrisk.risk_assets (risk_id, asset_id, tenant_id)
    SELECT DISTINCT md5(format('risk:%s:%s:%s', seed, x.n, x.i))::uuid,
           md5(format('asset:%s:%s:%s', seed, x.n, 1 + floor(random() * assets_per_tenant)::int))::uuid,
           openrisk.demo_tenant_id(x.n)
      FROM (SELECT n, i, floor(random() * 4)::int AS links
              FROM generate_series(1, tenants) n, generate_series(1, risks_per_tenant) i
            OFFSET 0) x,
           generate_series(1, x.links) k;

    -- Fresh statistics, or the score lookup of the insert trigger below is
    -- planned for the tables as they were before this load.
    ANALYZE openrisk.assets, openrisk.risk_assets;

    INSERT INTO openrisk.risks (id, tenant_id, title, description, impact, probability, status,
                                tags, frameworks, owner, source, external_id, created_at, updated_at)
    SELECT md5(format('risk:%s:%s:%s', seed, x.n, x.i))::uuid, openrisk.demo_tenant_id(x.n),
           initcap(x.threat) || ' on ' || x.target || ' #' || x.i,
           'Risk of ' || x.threat || ' affecting the ' || x.target || ' of the organisation.',
           x.impact, x.probability, x.status, ARRAY[x.threat, x.target], x.frameworks,
           'owner' || (x.i % 25) || '@demo.example', x.source,
           CASE WHEN x.source <> 'MANUAL' THEN x.source || '-' || x.i END,
           x.created_at, x.created_at
      FROM (SELECT n, i,
                   (ARRAY['ransomware', 'phishing', 'data leak', 'ddos', 'insider threat',
                          'misconfiguration', 'supply chain compromise', 'credential stuffing',
                          'outage', 'fraud'])[1 + floor(random() * 10)::int] AS threat,
                   (ARRAY['payment platform', 'customer database', 'vpn gateway', 'email system',
                          'hr records', 'build pipeline', 'public website', 'erp', 'backup storage',
                          'identity provider'])[1 + floor(random() * 10)::int] AS target,
                   (ARRAY['{ISO27001,SOC2}', '{NIST}', '{GDPR,ISO27001}', '{PCI-DSS,SOC2}', '{}'
                         ])[1 + floor(random() * 5)::int]::text[] AS frameworks,
                   1 + floor(random() * 5)::int AS impact,
                   1 + floor(random() * 5)::int AS probability,
                   CASE WHEN random() < 0.7 THEN 'ACTIVE' ELSE 'DRAFT' END AS status,
                   (ARRAY['MANUAL', 'MANUAL', 'MANUAL', 'MANUAL', 'MANUAL', 'MANUAL', 'MANUAL',
                          'MANUAL', 'THEHIVE', 'OPENRMF'])[1 + floor(random() * 10)::int] AS source,
                   now() - random() * interval '365 days' AS created_at
              FROM generate_series(1, tenants) n, generate_series(1, risks_per_tenant) i
            OFFSET 0) x;
    SET CONSTRAINTS openrisk.risk_assets_risk_in_tenant IMMEDIATE;
    ANALYZE openrisk.risks;

    -- A year of events: some risks were later mitigated or accepted...
    UPDATE openrisk.risks r
       SET status = CASE WHEN openrisk._demo_rand(r.id || ':kind') < 0.8 THEN 'MITIGATED' ELSE 'ACCEPTED' END,
           updated_at = r.created_at + openrisk._demo_rand(r.id || ':when') * (now() - r.created_at)
     WHERE r.tenant_id = ANY (ids) AND openrisk._demo_rand(r.id || ':closed') < 0.3;
    -- ... and a few open ones were deleted.
    UPDATE openrisk.risks r
       SET deleted_at = d.at, updated_at = d.at
      FROM (SELECT x.id, x.created_at + openrisk._demo_rand(x.id || ':deleted_at') * (now() - x.created_at) AS at
              FROM openrisk.risks x
             WHERE x.tenant_id = ANY (ids) AND x.status IN ('DRAFT', 'ACTIVE')
               AND openrisk._demo_rand(x.id || ':deleted') < 0.03) d
     WHERE r.id = d.id;

    -- Mitigations: 0..2 per live risk; done for mitigated risks.
    INSERT INTO openrisk.mitigations (risk_id, tenant_id, title, status, progress, assignee,
                                      due_date, created_at, updated_at)
    SELECT r.id, r.tenant_id, 'Mitigation ' || k || ' for ' || r.title, s.status,
           CASE s.status WHEN 'DONE' THEN 100 WHEN 'PLANNED' THEN 0
                ELSE 10 + floor(openrisk._demo_rand(r.id || ':progress' || k) * 80)::int END,
           'engineer' || floor(openrisk._demo_rand(r.id || ':assignee' || k) * 40)::int || '@demo.example',
           (r.created_at + (30 + floor(openrisk._demo_rand(r.id || ':due' || k) * 180)::int) * interval '1 day')::date,
           r.created_at, r.updated_at
      FROM openrisk.risks r,
           generate_series(1, floor(openrisk._demo_rand(r.id || ':mitigations') * 3)::int) k,
           LATERAL (SELECT CASE WHEN r.status = 'MITIGATED' THEN 'DONE'
                        ELSE (ARRAY['PLANNED', 'IN_PROGRESS', 'DONE'])[1 + floor(openrisk._demo_rand(r.id || ':status' || k) * 3)::int]
                   END AS status) s
     WHERE r.tenant_id = ANY (ids) AND r.deleted_at IS NULL;

    -- A few installed marketplace apps per tenant.
    INSERT INTO openrisk.marketplace_apps (id, tenant_id, connector_id, name, status, configuration,
                                           enabled, auto_sync, sync_interval)
    SELECT md5(format('app:%s:%s:%s', seed, n, c.ord))::uuid, openrisk.demo_tenant_id(n), c.id,
           c.name || ' (demo ' || n || ')',
           (ARRAY['installed', 'installed', 'pending', 'disabled', 'error'])[1 + c.ord % 5],
           jsonb_build_object('endpoint', 'https://' || lower(replace(c.name, ' ', '-')) || '.demo.example'),
           c.ord % 5 <> 3, c.ord % 2 = 0, 300 * c.ord
      FROM generate_series(1, tenants) n,
           (SELECT x.id, x.name, row_number() OVER (ORDER BY x.name) AS ord
              FROM openrisk.connectors x WHERE x.status <> 'deprecated'
             ORDER BY x.name LIMIT 5) c;

    ANALYZE openrisk.risks, openrisk.mitigations, openrisk.risk_history;
    RETURN QUERY SELECT unnest(ids);
END
$$;

REVOKE ALL ON FUNCTION openrisk._demo_connectors(), openrisk._demo_forget(uuid[]), openrisk._demo_rand(text),
    openrisk.generate_demo_data(integer, integer, integer) FROM PUBLIC;
