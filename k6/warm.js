// k6/warm.js -- load scenario 2 (warm): 2 minutes, 10 VUs, the dashboard's
// three hot reads (/risks, /stats, /marketplace/connectors) on a warm cache.
//
// setup() fills the cache first, so the measured run starts warm; the original scenario's
// promise of a 75 %+ hit rate becomes a threshold on cache_hit (read from
// the X-Cache header the extension reports for each call).
import { sleep } from 'k6';
import { THRESHOLDS, bearerToken, duration } from './lib/config.js';
import { call } from './lib/api.js';

const THINK = Number(__ENV.THINK_TIME || '0');
const READS = [
  ['riskList', {}],
  ['stats', {}],
  ['connectorList', {}],
];

export const options = {
  scenarios: {
    warm: { executor: 'constant-vus', vus: 10, duration: duration(120) },
  },
  thresholds: Object.assign({ cache_hit: ['rate>0.75'] }, THRESHOLDS),
};

export function setup() {
  const token = bearerToken('viewer');
  for (const [name, query] of READS) {
    call(name, token, { query });
  }
  return { token };
}

export default function (data) {
  const [name, query] = READS[__ITER % READS.length];
  call(name, data.token, { query });
  if (THINK > 0) {
    sleep(THINK);
  }
}
