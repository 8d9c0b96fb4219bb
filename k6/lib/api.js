// k6/lib/api.js -- the OpenRisk endpoints the scenarios call, and what a
// correct answer looks like.
//
// Every request goes through here so that (1) each endpoint is named once
// (test/suites/50-k6-syntax.sh checks these paths against docs/openapi.yaml),
// (2) URLs with ids are tagged by their pattern, not by the id, keeping k6's
// metrics per endpoint, (3) the checks test fields the API really returns
// (the envelopes of sql/40..60_*.sql), and (4) the cache_hit rate is read
// from the gateway's X-Cache header, which the extension reports per call.
import http from 'k6/http';
import { check } from 'k6';
import { Rate } from 'k6/metrics';
import { BASE_URL } from './config.js';

export const cacheHit = new Rate('cache_hit');

export const ENDPOINTS = {
  riskList: { method: 'GET', path: '/risks', expect: 'page' },
  riskSearch: { method: 'GET', path: '/risks/search', expect: 'page' },
  riskMatrix: { method: 'GET', path: '/risks/matrix', expect: 'grid' },
  riskGet: { method: 'GET', path: '/risks/{id}', expect: 'risk' },
  stats: { method: 'GET', path: '/stats', expect: 'stats' },
  statsMatrix: { method: 'GET', path: '/stats/risk-matrix', expect: 'grid' },
  statsTrends: { method: 'GET', path: '/stats/trends', expect: 'timeline' },
  connectorList: { method: 'GET', path: '/marketplace/connectors', expect: 'connectors' },
  connectorGet: { method: 'GET', path: '/marketplace/connectors/{id}', expect: 'connector' },
  appGet: { method: 'GET', path: '/marketplace/apps/{id}', expect: 'app' },
  riskCreate: { method: 'POST', path: '/risks', expect: 'created' },
  riskUpdate: { method: 'PATCH', path: '/risks/{id}', expect: 'risk' },
  riskDelete: { method: 'DELETE', path: '/risks/{id}', expect: 'deleted' },
};

function isNumber(v) {
  return typeof v === 'number';
}

// What each kind of answer must contain.
const SHAPES = {
  page: (b) => Array.isArray(b.items) && isNumber(b.total) && isNumber(b.page) && isNumber(b.page_size),
  connectors: (b) => Array.isArray(b.items) && isNumber(b.total) && isNumber(b.page) && isNumber(b.page_size),
  stats: (b) => isNumber(b.total_risks) && typeof b.by_severity === 'object',
  grid: (b) => Array.isArray(b.grid) && b.grid.length === 5,
  timeline: (b) => Array.isArray(b.points) && isNumber(b.days),
  risk: (b, id) => typeof b.id === 'string' && (!id || b.id === id) && typeof b.title === 'string',
  created: (b) => typeof b.id === 'string' && b.status === 'DRAFT',
  connector: (b, id) => b.id === id && typeof b.name === 'string',
  app: (b, id) => b.id === id && typeof b.connector_id === 'string',
};

const EXPECTED_STATUS = { GET: 200, PATCH: 200, POST: 201, DELETE: 204 };

function urlOf(path, id, query) {
  let url = BASE_URL + path.replace('{id}', encodeURIComponent(id || ''));
  const pairs = Object.entries(query || {}).filter(([, v]) => v !== undefined && v !== null);
  if (pairs.length) {
    url += '?' + pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  }
  return url;
}

function parse(res) {
  try {
    return res.json();
  } catch (e) {
    return null;
  }
}

// call('riskGet', token, { id, query, body }) -> { res, body, hit }: the k6
// response, its parsed JSON (null for none) and whether X-Cache said HIT.
export function call(name, token, { id, query, body } = {}) {
  const ep = ENDPOINTS[name];
  const params = {
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    tags: { name: `${ep.method} ${ep.path}` },
  };
  const res = http.request(ep.method, urlOf(ep.path, id, query),
    body === undefined ? null : JSON.stringify(body), params);
  const xcache = res.headers['X-Cache'];
  if (ep.method === 'GET' && xcache) {
    cacheHit.add(xcache === 'HIT');
  }
  const parsed = ep.expect === 'deleted' ? null : parse(res);
  check(res, {
    [`${ep.method} ${ep.path} status ${EXPECTED_STATUS[ep.method]}`]: (r) => r.status === EXPECTED_STATUS[ep.method],
    [`${ep.method} ${ep.path} body`]: () => ep.expect === 'deleted' || (parsed !== null && SHAPES[ep.expect](parsed, id)),
  });
  return { res, body: parsed, hit: xcache === 'HIT' };
}

// Ids to read by: a page of the tenant's risks and of the connector catalogue,
// fetched once in setup(); app ids come from APP_IDS (no API lists them).
export function discoverIds(token) {
  const risks = call('riskList', token, { query: { page_size: 100 } }).body;
  const connectors = call('connectorList', token, { query: { page_size: 100 } }).body;
  const ids = {
    risks: risks && risks.items ? risks.items.map((r) => r.id) : [],
    connectors: connectors && connectors.items ? connectors.items.map((c) => c.id) : [],
    apps: (__ENV.APP_IDS || '').split(',').map((s) => s.trim()).filter(Boolean),
  };
  if (ids.risks.length === 0) {
    throw new Error(`no risks visible at ${BASE_URL}/risks: is the stack running with demo data (make run)?`);
  }
  return ids;
}

export function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}
