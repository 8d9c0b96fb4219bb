// k6/peak.js -- load scenario 3 (peak): 5 minutes ramping to 50 VUs, a random
// mix of every cached endpoint plus a share of writes.
//
// WRITE_SHARE (default 0.05) of the iterations write: POST a risk, PATCH a
// known one, or DELETE one this VU created (never the demo data it reads).
// Each write invalidates the tenant's lists, search, matrix and dashboards
// at commit, so the hit rate here shows what invalidation costs.  Writes
// need an admin token (DELETE): the minted default role here is admin.
// /marketplace/apps/{id} is read only when APP_IDS lists app ids (the API
// has no endpoint that lists them).
import { sleep } from 'k6';
import { THRESHOLDS, bearerToken, duration } from './lib/config.js';
import { call, discoverIds, pick } from './lib/api.js';

const WRITE_SHARE = Number(__ENV.WRITE_SHARE || '0.05');
const THINK = Number(__ENV.THINK_TIME || '0');
const SEVERITIES = [undefined, 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
const PERIODS = ['week', 'month', 'quarter', 'year', 'all'];
const WORDS = ['access', 'vendor', 'backup', 'phishing', 'ransomware', 'audit', 'cloud', 'patch'];

if (!(WRITE_SHARE >= 0 && WRITE_SHARE <= 1)) {
  throw new Error(`WRITE_SHARE must be between 0 and 1, got ${__ENV.WRITE_SHARE}`);
}

export const options = {
  scenarios: {
    peak: {
      executor: 'ramping-vus',
      startVUs: 1,
      stages: [
        { duration: duration(60), target: 10 },
        { duration: duration(60), target: 25 },
        { duration: duration(120), target: 50 },
        { duration: duration(60), target: 0 },
      ],
      gracefulRampDown: '10s',
    },
  },
  thresholds: THRESHOLDS,
};

// Every cached read, each with parameters drawn the way a dashboard would.
const READS = [
  (t) => call('riskList', t, { query: { page: 1 + Math.floor(Math.random() * 3), severity: pick(SEVERITIES) } }),
  (t) => call('riskSearch', t, { query: { q: pick(WORDS) } }),
  (t) => call('riskMatrix', t, { query: { period: pick(PERIODS) } }),
  (t, ids) => call('riskGet', t, { id: pick(ids.risks) }),
  (t) => call('stats', t, { query: { period: pick(PERIODS) } }),
  (t) => call('statsMatrix', t),
  (t) => call('statsTrends', t, { query: { days: pick([7, 30, 90]) } }),
  (t) => call('connectorList', t, { query: { page: 1 + Math.floor(Math.random() * 2) } }),
  (t, ids) => ids.connectors.length && call('connectorGet', t, { id: pick(ids.connectors) }),
  (t, ids) => ids.apps.length && call('appGet', t, { id: pick(ids.apps) }),
];

// Risks created by this VU (module state is per VU in k6).
const created = [];

function write(token, ids) {
  const kind = created.length === 0 ? 'create' : pick(['create', 'update', 'delete']);
  if (kind === 'create') {
    const r = call('riskCreate', token, {
      body: {
        title: `k6 peak risk ${__VU}-${__ITER}`,
        impact: 1 + Math.floor(Math.random() * 5),
        probability: 1 + Math.floor(Math.random() * 5),
        tags: ['k6'],
      },
    });
    if (r.body && r.body.id) {
      created.push(r.body.id);
    }
  } else if (kind === 'update') {
    call('riskUpdate', token, { id: pick(ids.risks), body: { description: `touched by k6 VU ${__VU} at ${Date.now()}` } });
  } else {
    call('riskDelete', token, { id: created.pop() });
  }
}

export function setup() {
  const token = bearerToken('admin');
  return { token, ids: discoverIds(token) };
}

export default function (data) {
  if (Math.random() < WRITE_SHARE) {
    write(data.token, data.ids);
  } else {
    pick(READS)(data.token, data.ids);
  }
  if (THINK > 0) {
    sleep(THINK);
  }
}
