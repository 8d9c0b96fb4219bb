#!/usr/bin/env bash
# test/suites/50-k6-syntax.sh -- the k6 scripts parse, do what the original
# scenarios say, and only call endpoints the API documents.
#
# k6 cannot be installed here, so: `node --check` each script as an ES
# module; resolve their relative imports; dry-run each scenario under node
# with test/k6/shim standing in for k6's modules (options, minted JWT,
# requests, checks passing on good and failing on bad answers); compare
# every endpoint in k6/lib/api.js with docs/openapi.yaml once it exists;
# and, when the gateway of this stack answers, dry-run the scenarios'
# code against it (checks on the real response fields).
# Last line: SUITE k6-syntax <passed> <failed>.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
K6=$ROOT/k6
pass=0 fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

ok() {
	echo "ok - $1"
	pass=$((pass + 1))
}
not_ok() {
	echo "not ok - $1"
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /' | tail -15
	fail=$((fail + 1))
}
# count lines printed by the dry run (ok / not ok)
count() {
	printf '%s\n' "$1"
	pass=$((pass + $(grep -c '^ok - ' <<<"$1")))
	fail=$((fail + $(grep -c '^not ok - ' <<<"$1")))
}

command -v node >/dev/null || { echo "not ok - node missing (apt-get install nodejs)"; echo "SUITE k6-syntax 0 1"; exit 1; }

scripts=("$K6"/*.js "$K6"/lib/*.js)
for f in "${scripts[@]}"; do
	rel=${f#"$ROOT"/}
	if out=$(node --input-type=module --check <"$f" 2>&1); then ok "node --check $rel"; else not_ok "node --check $rel" "$out"; fi
	# relative imports must name files that exist
	missing=""
	while read -r imp; do
		[ -f "$(dirname "$f")/$imp" ] || missing+=" $imp"
	done < <(grep -oE "from '\./[^']+'|from '\.\./[^']+'" "$f" | sed -E "s/from '(.*)'/\1/")
	if [ -z "$missing" ]; then ok "$rel: relative imports resolve"; else not_ok "$rel: missing imports:$missing"; fi
done

for s in baseline warm peak; do
	[ -f "$K6/$s.js" ] && ok "k6/$s.js exists" || not_ok "k6/$s.js exists"
done

# A copy of k6/ that node can import: ES modules, k6's modules from the shim.
cp -r "$K6" "$tmp/k6"
echo '{"type": "module"}' >"$tmp/k6/package.json"
mkdir -p "$tmp/k6/node_modules"
ln -s "$ROOT/test/k6/shim" "$tmp/k6/node_modules/k6"
for s in baseline warm peak; do
	count "$(cd "$tmp" && node "$ROOT/test/k6/dryrun.mjs" "$tmp/k6" "$s" 300 2>&1)"
done

# Every endpoint the scripts call is in the API description.
openapi=$ROOT/docs/openapi.yaml
if [ -f "$openapi" ]; then
	count "$(/usr/bin/python3 - "$K6/lib/api.js" "$openapi" <<'EOF'
import re, sys, yaml
api, spec = open(sys.argv[1]).read(), yaml.safe_load(open(sys.argv[2]))
norm = lambda p: re.sub(r"\{[^}]+\}", "{}", re.sub(r"^/api/v1", "", p))
documented = {(m.upper(), norm(p)) for p, ops in spec.get("paths", {}).items() for m in ops}
used = re.findall(r"method: '(\w+)', path: '([^']+)'", api)
if not used:
    print("not ok - no endpoints found in k6/lib/api.js")
for method, path in used:
    ok = (method, norm(path)) in documented
    print(f"{'ok' if ok else 'not ok'} - k6 endpoint {method} {path} is in docs/openapi.yaml")
EOF
)"
else
	echo "# docs/openapi.yaml does not exist yet: endpoint paths not compared"
fi

# Against the running gateway (this stack's make run), when there is one.
url=$(cd "$ROOT" && tools/env.sh 2>/dev/null | sed -nE 's/.*OPENRISK_URL=("?)([^" ]+)\1.*/\2/p' | head -1)
if [ -n "$url" ] && curl -fs -o /dev/null -m 3 "${url%/api/v1}/health" && [ -x "$ROOT/tools/token.sh" ]; then
	token=$("$ROOT/tools/token.sh" admin "" 2>/dev/null)
	if [ -z "$token" ]; then
		not_ok "tools/token.sh admin printed a token"
	else
		for s in baseline warm peak; do
			count "$(cd "$tmp" && SHIM_LIVE=1 BASE_URL=$url TOKEN=$token WRITE_SHARE=0.3 \
				node "$ROOT/test/k6/dryrun.mjs" "$tmp/k6" "$s" 25 2>&1 | sed -E 's/^(ok|not ok) - /\1 - live /')"
		done
	fi
else
	echo "# no gateway answering for this stack: live dry run skipped"
fi

echo "SUITE k6-syntax $pass $fail"
[ "$fail" = 0 ]
