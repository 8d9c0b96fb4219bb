// test/k6/shim/index.js -- k6's `check` and `sleep` for running the scripts
// under node: every check result is recorded in globalThis.__shim.checks so
// the test can assert that the scripts' checks pass on good answers and
// fail on bad ones.
export function check(value, sets) {
  let all = true;
  for (const [name, fn] of Object.entries(sets)) {
    const ok = Boolean(fn(value));
    globalThis.__shim.checks.push({ name, ok });
    all = all && ok;
  }
  return all;
}

export function sleep() {}
