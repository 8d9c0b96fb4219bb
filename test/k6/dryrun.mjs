// test/k6/dryrun.mjs -- run a k6 scenario's code under node, without k6.
//
//   node dryrun.mjs <copy of k6/> <baseline|warm|peak> [iterations]
//
// k6 is not installable here, and `node --check` only proves the scripts
// parse.  This driver loads a scenario with test/k6/shim standing in for
// k6's modules (linked as node_modules/k6 by 50-k6-syntax.sh) and checks:
// the options are the load scenario's (VUs, durations, thresholds); the
// minted JWT is a valid HS256 token with the claims the gateway reads;
// setup() and a number of iterations run, every request goes to BASE_URL
// under a declared endpoint name, and the scripts' own checks pass on good
// answers and fail on a bad one.  Offline the answers are canned; with
// SHIM_LIVE=1 they come from the running gateway.  Prints ok / not ok lines.
import { createHmac } from 'node:crypto';
import path from 'node:path';

const [dir, scenario, iterArg] = process.argv.slice(2);
const ITERATIONS = Number(iterArg || '30');
const LIVE = process.env.SHIM_LIVE === '1';
const EXPECT = {
  baseline: { executor: 'constant-vus', vus: 5, seconds: 120 },
  warm: { executor: 'constant-vus', vus: 10, seconds: 120 },
  peak: { executor: 'ramping-vus', vus: 50, seconds: 300 },
};
let failures = 0;

function report(ok, what, why = '') {
  if (!ok) failures += 1;
  console.log(ok ? `ok - ${scenario}: ${what}` : `not ok - ${scenario}: ${what}: ${why}`);
}

const RISK = '10000000-0000-4000-8000-000000000001';
const CONNECTOR = '20000000-0000-4000-8000-000000000001';
const page = (items, key = 'items') => ({ [key]: items, total: items.length, page: 1, page_size: 20 });
const grid = { period: 'all', total: 0, grid: Array.from({ length: 5 }, () => [0, 0, 0, 0, 0]) };

// Canned answers shaped like sql/40..60_*.sql's JSON envelopes.
function goodAnswer(method, url) {
  const p = new URL(url).pathname.replace(/^\/api\/v1/, '');
  const id = p.split('/').pop();
  const routes = [
    ['GET', /^\/risks$/, () => page([{ id: RISK, title: 'a risk' }])],
    ['GET', /^\/risks\/search$/, () => page([{ id: RISK, title: 'a risk' }])],
    ['GET', /^\/risks\/matrix$/, () => grid],
    ['GET', /^\/risks\/[^/]+$/, () => ({ id, title: 'a risk' })],
    ['GET', /^\/stats$/, () => ({ total_risks: 1, by_severity: { LOW: 1 } })],
    ['GET', /^\/stats\/risk-matrix$/, () => grid],
    ['GET', /^\/stats\/trends$/, () => ({ days: 30, points: [] })],
    ['GET', /^\/marketplace\/connectors$/, () => page([{ id: CONNECTOR, name: 'c' }])],
    ['GET', /^\/marketplace\/connectors\/[^/]+$/, () => ({ id, name: 'c' })],
    ['GET', /^\/marketplace\/apps\/[^/]+$/, () => ({ id, connector_id: CONNECTOR })],
    ['POST', /^\/risks$/, () => ({ id: `3${Date.now()}`, status: 'DRAFT' }), 201],
    ['PATCH', /^\/risks\/[^/]+$/, () => ({ id, title: 'a risk' })],
    ['DELETE', /^\/risks\/[^/]+$/, () => undefined, 204],
  ];
  for (const [m, re, body, status] of routes) {
    if (m === method && re.test(p)) {
      return { status: status || 200, headers: { 'X-Cache': Math.random() < 0.8 ? 'HIT' : 'MISS' }, body: body() };
    }
  }
  return { status: 404, body: { error: { code: 'not_found', message: `no route ${method} ${p}` } } };
}

function base64urlJson(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

function checkToken(config) {
  const token = config.mintToken('s3cret', '00000000-0000-4000-8000-000000000001', 'analyst', 60);
  const [h, c, s] = token.split('.');
  const expected = createHmac('sha256', 's3cret').update(`${h}.${c}`).digest('base64url');
  const header = base64urlJson(h);
  const claims = base64urlJson(c);
  report(s === expected && header.alg === 'HS256', 'minted token is HS256 and its signature verifies',
    `header ${JSON.stringify(header)}, signature ${s} vs ${expected}`);
  const now = Date.now() / 1000;
  report(claims.tenant_id === '00000000-0000-4000-8000-000000000001' && claims.role === 'analyst' &&
    typeof claims.sub === 'string' && claims.exp > now && claims.exp <= now + 61,
  'minted token carries sub, tenant_id, role and a near exp', JSON.stringify(claims));
  report(!/[=+/]/.test(token), 'minted token is unpadded base64url', token);
}

function checkOptions(options) {
  const want = EXPECT[scenario];
  const sc = Object.values(options.scenarios || {})[0] || {};
  const secs = (d) => Number(String(d).replace(/s$/, ''));
  let vus = sc.vus;
  let total = secs(sc.duration || 0);
  if (sc.stages) {
    vus = Math.max(...sc.stages.map((s) => s.target));
    total = sc.stages.reduce((n, s) => n + secs(s.duration), 0);
  }
  report(sc.executor === want.executor && vus === want.vus && total === want.seconds,
    `options: ${want.executor}, ${want.vus} VUs, ${want.seconds} s`, `got ${sc.executor}, ${vus} VUs, ${total} s`);
  const t = options.thresholds || {};
  report((t.http_req_duration || []).includes('p(95)<100') && (t.http_req_failed || []).includes('rate<0.01'),
    'thresholds: http_req_duration p(95)<100 and http_req_failed rate<0.01', JSON.stringify(t));
}

// A live run must not leave test risks in the stack's demo data: delete
// every risk the scenario created and did not delete itself.
function removeCreatedRisks(api) {
  const reqs = globalThis.__shim.requests;
  const created = reqs.filter((r) => r.method === 'POST' && r.response.status === 201)
    .map((r) => JSON.parse(r.response.body).id);
  const deleted = new Set(reqs.filter((r) => r.method === 'DELETE').map((r) => decodeURIComponent(r.url.split('/').pop())));
  const left = created.filter((id) => !deleted.has(id));
  const token = (reqs[0].headers.Authorization || '').replace(/^Bearer /, '');
  const failedDeletes = left.filter((id) => api.call('riskDelete', token, { id }).res.status !== 204);
  report(failedDeletes.length === 0, `the ${created.length} risks the run created are gone again`,
    `could not delete ${failedDeletes.join(', ')}`);
}

async function main() {
  globalThis.__ENV = { ...process.env };
  if (!LIVE) {
    globalThis.__ENV.JWT_SECRET = globalThis.__ENV.JWT_SECRET || 'dry-run-secret';
    delete globalThis.__ENV.TOKEN;
    globalThis.__ENV.APP_IDS = '40000000-0000-4000-8000-000000000001';
    globalThis.__ENV.WRITE_SHARE = '0.3'; // so a short run meets every write
  }
  globalThis.__VU = 1;
  globalThis.__ITER = 0;
  globalThis.__shim = { checks: [], metrics: {}, requests: [], respond: goodAnswer };

  const config = await import(path.resolve(dir, 'lib/config.js'));
  const api = await import(path.resolve(dir, 'lib/api.js'));
  const mod = await import(path.resolve(dir, `${scenario}.js`));
  checkToken(config);
  checkOptions(mod.options);

  const data = mod.setup ? mod.setup() : undefined;
  for (let i = 0; i < ITERATIONS; i++) {
    globalThis.__ITER = i;
    mod.default(data);
  }
  const { requests, checks, metrics } = globalThis.__shim;
  const names = new Set(Object.values(api.ENDPOINTS).map((e) => `${e.method} ${e.path}`));
  const stray = requests.filter((r) => !r.url.startsWith(config.BASE_URL) || !names.has(r.tags.name));
  report(requests.length > ITERATIONS / 2 && stray.length === 0,
    `${requests.length} requests, all to BASE_URL under a declared endpoint`, JSON.stringify(stray.slice(0, 3)));
  const bad = checks.filter((c) => !c.ok);
  report(checks.length > 0 && bad.length === 0, `${checks.length} checks pass${LIVE ? ' against the live gateway' : ''}`,
    [...new Set(bad.map((c) => c.name))].join('; '));
  report((metrics.cache_hit || []).length > 0, 'cache_hit is fed from X-Cache', 'no cache_hit samples');
  const used = [...new Set(requests.map((r) => r.tags.name))].sort();
  console.log(`# ${scenario} used: ${used.join(', ')}`);
  if (scenario === 'peak' && !LIVE) {
    const unused = [...names].filter((n) => !used.includes(n));
    report(unused.length === 0, 'the peak mix calls every endpoint, reads and writes', `never called: ${unused.join(', ')}`);
  }

  if (LIVE) {
    removeCreatedRisks(api);
  } else {
    globalThis.__shim.checks = [];
    globalThis.__shim.respond = () => ({ status: 200, headers: {}, body: { unexpected: true } });
    mod.default(data);
    report(globalThis.__shim.checks.some((c) => !c.ok), 'checks fail on an answer without the expected fields',
      'every check passed on a wrong body');
  }
  process.exitCode = failures ? 1 : 0;
}

main().catch((e) => {
  console.log(`not ok - ${scenario}: dry run crashed: ${e && e.stack ? e.stack.split('\n').slice(0, 3).join(' | ') : e}`);
  process.exitCode = 1;
});
