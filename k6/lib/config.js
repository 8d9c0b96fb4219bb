// k6/lib/config.js -- where the gateway is, who we are, what "good" means.
//
// One place for what every scenario shares, so the three scripts cannot
// disagree: the base URL, the bearer token (given, or minted here for a
// demo tenant from the gateway's development secret), OpenRisk's original
// thresholds, and durations that can be shortened from the environment for
// a quick run without editing a script.
import crypto from 'k6/crypto';
import encoding from 'k6/encoding';

export const BASE_URL = (__ENV.BASE_URL || 'http://127.0.0.1:8080/api/v1').replace(/\/+$/, '');

// Demo tenant #1 of openrisk.generate_demo_data (the hot tenant).
export const TENANT = __ENV.TENANT || '00000000-0000-4000-8000-000000000001';

// The targets of OpenRisk's original load tests: p95 under 100 ms, fewer than 1 % failed requests.
export const THRESHOLDS = {
  http_req_duration: ['p(95)<100'],
  http_req_failed: ['rate<0.01'],
  checks: ['rate>0.99'],
};

// DURATION_SCALE=0.1 turns the 2 min / 5 min scenarios into 12 s / 30 s.
const SCALE = Number(__ENV.DURATION_SCALE || '1');
export function duration(seconds) {
  if (!(SCALE > 0)) {
    throw new Error(`DURATION_SCALE must be a positive number, got ${__ENV.DURATION_SCALE}`);
  }
  return `${Math.max(1, Math.round(seconds * SCALE))}s`;
}

function base64url(text) {
  return encoding.b64encode(text, 'rawurl');
}

// An HS256 JWT with the claims the gateway checks: sub, tenant_id, role, exp.
export function mintToken(secret, tenant, role, lifetimeSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const claims = base64url(JSON.stringify({
    sub: `k6-${role}`, tenant_id: tenant, role, iat: now, exp: now + lifetimeSeconds,
  }));
  const signature = crypto.hmac('sha256', secret, `${header}.${claims}`, 'base64rawurl');
  return `${header}.${claims}.${signature}`;
}

// TOKEN wins (it must carry a role high enough for the scenario: viewer for
// reads, admin when the peak mix deletes); otherwise one is minted for
// TENANT with ROLE (default: the scenario's) from JWT_SECRET.
export function bearerToken(defaultRole) {
  if (__ENV.TOKEN) {
    return __ENV.TOKEN;
  }
  if (!__ENV.JWT_SECRET) {
    throw new Error('set TOKEN (e.g. TOKEN=$(make -s token ROLE=admin)) or JWT_SECRET to mint one');
  }
  return mintToken(__ENV.JWT_SECRET, TENANT, __ENV.ROLE || defaultRole, 6 * 3600);
}
