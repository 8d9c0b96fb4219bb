// test/k6/shim/http.js -- k6/http's request() for running the scripts under
// node.  Offline it answers from globalThis.__shim.respond(method, url, body)
// (canned answers shaped like the API); with SHIM_LIVE=1 it performs the
// request with curl (k6's http is synchronous, node's is not), so the
// scripts' checks meet the real gateway.  Every request is recorded.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

function response(status, headers, body) {
  return {
    status,
    headers,
    body,
    json() {
      return JSON.parse(body);
    },
  };
}

// k6 canonicalises header names (x-cache -> X-Cache); so do we.
function canonical(name) {
  return name.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1).toLowerCase()).join('-');
}

// curl writes the headers (-D) to a temporary file and the body to stdout.
function curlRequest(method, url, body, headers) {
  const headerFile = `/tmp/k6shim-${process.pid}.headers`;
  const args = ['-s', '-m', '10', '-X', method, '-D', headerFile, '-o', '-'];
  for (const [k, v] of Object.entries(headers || {})) {
    args.push('-H', `${k}: ${v}`);
  }
  if (body !== null && body !== undefined) {
    args.push('--data-binary', body);
  }
  args.push(url);
  let out;
  try {
    out = execFileSync('curl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    return response(0, {}, '');
  }
  const lines = readFileSync(headerFile, 'utf8').split(/\r?\n/);
  rmSync(headerFile, { force: true });
  const status = Number((lines[0].match(/^HTTP\/\S+ (\d+)/) || [])[1] || 0);
  const parsed = {};
  for (const line of lines.slice(1)) {
    const m = line.match(/^([^:]+):\s*(.*)$/);
    if (m) {
      parsed[canonical(m[1])] = m[2];
    }
  }
  return response(status, parsed, out);
}

export function request(method, url, body, params = {}) {
  const entry = { method, url, body, tags: params.tags || {}, headers: params.headers || {} };
  globalThis.__shim.requests.push(entry);
  if (process.env.SHIM_LIVE === '1') {
    entry.response = curlRequest(method, url, body, params.headers);
  } else {
    const r = globalThis.__shim.respond(method, url, body, params.headers || {});
    entry.response = response(r.status, r.headers || {}, r.body === undefined ? '' : JSON.stringify(r.body));
  }
  return entry.response;
}

export default { request };
