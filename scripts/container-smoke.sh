#!/usr/bin/env bash
# The Dockerfile's stages without Docker (no engine here): build dist/ in one directory, install production
# dependencies alone in another, then run the result in demo mode and probe it as the image's users would.
set -euo pipefail
# Bodies are read whole before grep: `curl ... | grep -q` fails under pipefail when grep exits at its first match
# before curl has written everything (curl: (23) Failed writing body), as it once did in CI.

root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "container smoke: FAILED: $*" >&2
  if [ -f "$work/server.log" ]; then
    echo "--- server log" >&2
    cat "$work/server.log" >&2
  fi
  exit 1
}

# Stage "build": the sources and every dependency, compiled to dist/. The repository's node_modules was installed
# by `npm ci` from the same lockfile, which is what the stage's own `npm ci` does.
mkdir -p "$work/build" "$work/app"
cp "$root/package.json" "$root/package-lock.json" "$root/tsconfig.json" "$root/tsconfig.build.json" "$work/build/"
cp -R "$root/src" "$work/build/src"
ln -s "$root/node_modules" "$work/build/node_modules"
(cd "$work/build" && npm run -s build) || fail "build"

# Stage "deps", then the runtime: production dependencies alone, and dist/.
cp "$root/package.json" "$root/package-lock.json" "$work/app/"
(cd "$work/app" && npm ci --omit=dev --no-audit --no-fund --prefer-offline --loglevel=error) || fail "npm ci --omit=dev"
cp -R "$work/build/dist" "$work/app/dist"
cd "$work/app"
[ ! -e node_modules/pino-pretty ] && [ ! -e node_modules/typescript ] || fail "dev dependencies were installed"

# Without pino-pretty, a logger asked to pretty-print (a TTY outside production) writes JSON instead of crashing.
line="$(node -e "import('./dist/logger.js').then(({ createLogger }) => createLogger({ level: 'info', production: false, pretty: true }).info('fallback'))")"
[[ "$line" == *'"msg":"fallback"'* ]] || fail "logger without pino-pretty printed: $line"

help="$(node dist/index.js --help)" || fail "--help"
grep -q '^REDIS_URL ' <<<"$help" || fail "--help does not list the environment"

env -i PATH="$PATH" NODE_ENV=production PORT=0 node dist/index.js >"$work/server.log" 2>&1 &
pid=$!

url=""
for _ in $(seq 1 100); do
  url="$(grep -o '"url":"http://[^"]*/graphql"' "$work/server.log" | head -n 1 | cut -d'"' -f4 || true)"
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || fail "the server exited at start"
  sleep 0.2
done
[ -n "$url" ] || fail "no listening line in the log"
base="${url%/graphql}"

ready=""
for _ in $(seq 1 50); do
  if grep -q '"ready"' <<<"$(curl -fsS --max-time 10 "$base/readyz" || true)"; then
    ready=yes
    break
  fi
  sleep 0.2
done
[ -n "$ready" ] || fail "/readyz never answered ready"

health="$(curl -fsS --max-time 10 "$base/healthz")" || fail "/healthz"
grep -q '"ok"' <<<"$health" || fail "/healthz"
answer="$(curl -fsS --max-time 10 "$url" -H 'content-type: application/json' \
  -d '{"query":"{ sessions(page: {limit: 2}) { totalCount nodes { sid } } }"}')"
[[ "$answer" == *'"totalCount":'* && "$answer" != *'"errors"'* ]] || fail "query answered: $answer"
page="$(curl -fsS --max-time 10 "$url" -H 'accept: text/html')"
asset="$(grep -o 'graphiql/assets/graphiql-[^"]*\.js' <<<"$page" | head -n 1 || true)"
[ -n "$asset" ] || fail "GraphiQL page has no bundle"
curl -fsS --max-time 10 -o /dev/null "$base/$asset" || fail "GraphiQL bundle $asset"
metrics="$(curl -fsS --max-time 10 "$base/metrics")" || fail "/metrics"
grep -q '^jans_graphql_operations_total{' <<<"$metrics" || fail "/metrics"

kill -TERM "$pid"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
! kill -0 "$pid" 2>/dev/null || fail "still running 20 s after SIGTERM"
status=0
wait "$pid" || status=$?
pid=""
[ "$status" -eq 0 ] || fail "exit code $status after SIGTERM"
grep -q '"msg":"stopped"' "$work/server.log" || fail "no 'stopped' line after SIGTERM"

echo "container smoke: production install served the demo, GraphiQL, metrics; stopped cleanly on SIGTERM"
