// k6/baseline.js -- load scenario 1 (baseline): 2 minutes, 5 VUs, GET /risks
// without the cache's help.
//
// Run it with the cache disabled for the true baseline:
//   psql -c "ALTER SYSTEM SET openrisk.cache_enabled = off" -c "SELECT pg_reload_conf()"
// (undo with ALTER SYSTEM RESET openrisk.cache_enabled), or on a cold cache.
// Pages and sort orders vary so a cold cache stays mostly cold; setup()
// says which of the two you are measuring, and cache_hit reports it.
import { sleep } from 'k6';
import { THRESHOLDS, bearerToken, duration } from './lib/config.js';
import { call } from './lib/api.js';

const PAGES = Number(__ENV.RISK_PAGES || '50');
const SORTS = ['score', 'created_at', 'impact', 'probability'];
const THINK = Number(__ENV.THINK_TIME || '0');

export const options = {
  scenarios: {
    baseline: { executor: 'constant-vus', vus: 5, duration: duration(120) },
  },
  thresholds: THRESHOLDS,
};

export function setup() {
  const token = bearerToken('viewer');
  call('riskList', token, { query: { page: 1 } });
  if (call('riskList', token, { query: { page: 1 } }).hit) {
    console.warn('the cache is ON: this measures a cold cache, not a disabled one (see the header of baseline.js)');
  }
  return { token };
}

export default function (data) {
  call('riskList', data.token, {
    query: {
      page: 1 + Math.floor(Math.random() * PAGES),
      sort_by: SORTS[Math.floor(Math.random() * SORTS.length)],
    },
  });
  if (THINK > 0) {
    sleep(THINK);
  }
}
