#!/usr/bin/env bash
# Smoke test against a REAL cluster (kind, k3d, minikube, or any context you own).
# Not run in CI: the build machines have no control plane; CI uses the fake API
# server in test/support/fake-kube/. This script checks the same behaviours the
# fake models, so a drift between the fake and Kubernetes shows up here.
#
# Usage: test/support/real-cluster.sh [--context NAME] [--node-image IMAGE] [--role FILE] [--keep]
#   --context     kubeconfig context (default: current-context)
#   --node-image  Node.js image for the sink (default: node:24-alpine; use a mirror if needed)
#   --role        the Role a restricted user gets (default: manifests/rbac/role.yaml)
#   --keep        do not delete what the script created
#
# The tour: a node:* pod the way the fake runs them; `up`, `send`, `tail`; every
# object `up` applied read back and compared with `manifests` (NetworkPolicy
# `from` included); `up -n` again (token still accepted); a flow with a `job`
# step in the sink's restricted namespace; `check --in-cluster --shards 2`; a sharded check
# with a Redis restart in the middle (sharded_check_redis_restart); then
# up/send/tail/run/check/down as a ServiceAccount holding only the documented Role.
# Needs: kubectl, node >= 22.19, npm; rights to create namespaces, Roles and RoleBindings.
# A throwaway cluster:  kind create cluster --name ev   (or: k3d cluster create ev; minikube start)
# IPv6-only (issue 8, defect 3): kind with `networking: {ipFamily: ipv6}` in its config.
set -euo pipefail

CONTEXT=""
NODE_IMAGE="node:24-alpine"
KEEP=0
ROLE_FILE=""
while [ $# -gt 0 ]; do
  case "$1" in
    --context) CONTEXT="$2"; shift 2 ;;
    --node-image) NODE_IMAGE="$2"; shift 2 ;;
    --role) ROLE_FILE="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
[ -n "$ROLE_FILE" ] || ROLE_FILE="$ROOT/manifests/rbac/role.yaml"
WORK="$(mktemp -d)"
KFLAGS=()
[ -n "$CONTEXT" ] && KFLAGS+=(--context "$CONTEXT")
k() { kubectl "${KFLAGS[@]}" "$@"; }
ev() { "$ROOT/plugin/bin/run.js" "$@" "${KFLAGS[@]}"; }
step() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# read_back FILE: every object in FILE (a JSON list, as `manifests -o json` prints it) is read back
# with kubectl and compared field by field: the server may add fields, never lose or change ours
# (timestamps may be re-rendered).
read_back() {
  local kind name ns stored
  # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
  node -e '
    for (const o of JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))) {
      const [group, version] = o.apiVersion.includes("/") ? o.apiVersion.split("/") : ["", o.apiVersion];
      console.log(`${o.kind.toLowerCase()}${group ? `.${version}.${group}` : ""} ${o.metadata.name} ${o.metadata.namespace ?? ""}`);
    }' "$1" |
  while read -r kind name ns; do
    stored="$WORK/stored-$kind-$name.json"
    if [ -n "$ns" ]; then k get "$kind" "$name" -n "$ns" -o json > "$stored"; else k get "$kind" "$name" -o json > "$stored"; fi
    # shellcheck disable=SC2016 # JavaScript template literals, not shell expansions
    node -e '
      const fs = require("fs");
      const [file, storedFile, kind, name] = process.argv.slice(1);
      const built = JSON.parse(fs.readFileSync(file, "utf8")).find((o) => o.metadata.name === name && kind.startsWith(o.kind.toLowerCase()));
      const stored = JSON.parse(fs.readFileSync(storedFile, "utf8"));
      const time = (v) => typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v);
      const lost = (b, s, p) => Array.isArray(b) ? (!Array.isArray(s) || s.length !== b.length ? [p] : b.flatMap((x, i) => lost(x, s[i], `${p}[${i}]`)))
        : b !== null && typeof b === "object" ? (s === null || typeof s !== "object" ? [p] : Object.keys(b).flatMap((k) => lost(b[k], s[k], `${p}.${k}`)))
        : b === s || (time(b) && time(s)) ? [] : [p];
      const bad = lost(built, stored, "");
      if (bad.length) { console.error(`${kind}/${name}: not stored as built: ${bad.join(", ")}`); process.exit(1); }
    ' "$1" "$stored" "$kind" "$name" || fail "read-back of $kind/$name"
  done
}

NS="ev-real-cluster-$(date +%s)"
RBAC_NS="$NS-rbac"
cleanup() {
  if [ "$KEEP" = 0 ]; then
    k delete namespace "$NS" "$RBAC_NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
    if [ -n "${SINK_NS:-}" ]; then ev down "$SINK_NS" >/dev/null 2>&1 || true; fi
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

step "cluster: $(k config current-context 2>/dev/null || echo '?') / server $(k version -o json 2>/dev/null | sed -n 's/.*"gitVersion": *"\([^"]*\)".*/\1/p' | tail -1)"
k auth can-i create namespaces >/dev/null || fail "this context cannot create namespaces"

step "build the plugin"
(cd "$ROOT" && npm run build >/dev/null)

step "what the fake models: a node:* pod running a ConfigMap script, Ready through an httpGet probe, reached by port-forward"
k create namespace "$NS" >/dev/null
k apply --server-side --validate=false -f - >/dev/null <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: web-script, namespace: $NS}
data:
  server.mjs: |
    import http from 'node:http';
    http.createServer((q, s) => s.end(JSON.stringify({ pod: process.env.POD_NAME, path: q.url }))).listen(8080, process.env.EV_HOST ?? '0.0.0.0');
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: $NS}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: $NODE_IMAGE
        command: [node, /app/server.mjs]
        env:
        - {name: EV_HOST, value: 0.0.0.0}
        - name: POD_NAME
          valueFrom: {fieldRef: {fieldPath: metadata.name}}
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 2}
        volumeMounts: [{name: app, mountPath: /app}]
      volumes: [{name: app, configMap: {name: web-script}}]
EOF
k -n "$NS" rollout status deployment/web --timeout=180s
POD="$(k -n "$NS" get pods -l app=web -o jsonpath='{.items[0].metadata.name}')"
k -n "$NS" port-forward "pod/$POD" 18080:8080 >/dev/null 2>&1 &
PF=$!
for _ in $(seq 1 50); do curl -fsS http://127.0.0.1:18080/x >/dev/null 2>&1 && break; sleep 0.2; done
curl -fsS http://127.0.0.1:18080/hello | grep -q "\"pod\":\"$POD\"" || { kill "$PF"; fail "port-forward did not reach the pod"; }
kill "$PF" 2>/dev/null || true

step "delete namespace waits for termination (Terminating, then NotFound)"
k delete namespace "$NS" --wait=true --timeout=120s >/dev/null
k get namespace "$NS" >/dev/null 2>&1 && fail "namespace $NS still exists"

step "plugin: up"
UP_JSON="$(ev up -o json --wait 3m --node-image "$NODE_IMAGE")"
SINK_NS="$(printf '%s' "$UP_JSON" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).namespace))')"
[ -n "$SINK_NS" ] || fail "up printed no namespace"

step "plugin: send 100 messages, then tail --no-follow shows them"
ev send -n "$SINK_NS" --to 'user{{n}}@example.com' --count 100 >/dev/null
COUNT="$(ev tail -n "$SINK_NS" --no-follow -o json | grep -c '"type":"message.received"' || true)"
[ "$COUNT" -ge 100 ] || fail "tail showed $COUNT message events, expected >= 100"

step "read-back: every object up applied is stored as \`manifests\` prints it (NetworkPolicy \`from\` included)"
TOKEN="$(k -n "$SINK_NS" get secret email-sink-token -o jsonpath='{.data.token}' | base64 -d)"
ev manifests -n "$SINK_NS" --token "$TOKEN" --node-image "$NODE_IMAGE" -o json > "$WORK/built.json"
read_back "$WORK/built.json"
k -n "$SINK_NS" get networkpolicy email-sink -o json | node -e '
  let s = ""; process.stdin.on("data", (d) => { s += d; }).on("end", () => {
    const rules = JSON.parse(s).spec.ingress.filter((r) => (r.ports ?? []).some((p) => p.port === 8025));
    if (!rules.length || !rules.every((r) => Array.isArray(r.from) && r.from.length)) { console.error("HTTP 8025 is open to every pod:", JSON.stringify(rules)); process.exit(1); }
  });' || fail "the NetworkPolicy lost its from rule"

step "up -n again: the same sink, its token still accepted (no 401)"
ev up -n "$SINK_NS" --wait 3m --node-image "$NODE_IMAGE" -o json >/dev/null
ev messages list -n "$SINK_NS" -o json >/dev/null || fail "the API refused the sink's token after a second up"

step "run: a flow with a job step in the sink's namespace (restricted Pod Security)"
ev run -n "$SINK_NS" "$ROOT/test/integration/flow/fixtures/job-sends-mail.yaml" || fail "the job step failed"

step "check --in-cluster --shards 2"
printf 'someone@example.com\nnot-an-address\nuser@example.org\n' > "$WORK/list.txt"
ev check "$WORK/list.txt" --in-cluster --shards 2 --offline -o jsonl > "$WORK/results.jsonl" || fail "check --in-cluster failed"
[ "$(wc -l < "$WORK/results.jsonl")" -eq 3 ] || fail "check --in-cluster gave $(wc -l < "$WORK/results.jsonl") results, expected 3"

# sharded_check_redis_restart: a sharded check whose Redis container is restarted in the middle
# (the kubelet restarts it on the same emptyDir; Redis reloads its append-only file); the output
# must be byte for byte a local run's.
sharded_check_redis_restart() {
  step "check --in-cluster --shards 3 with a Redis restart in the middle"
  # shellcheck disable=SC2016 # a JavaScript template literal, not a shell expansion
  node -e 'let s="";for(let i=0;i<300000;i++)s+=`user${i}@d${i%2000}.example\n`;process.stdout.write(s)' > "$WORK/big.txt"
  ev check "$WORK/big.txt" --offline --out "$WORK/big-local.jsonl" 2>/dev/null || fail "local check failed"
  ev check "$WORK/big.txt" --in-cluster --shards 3 --offline --out "$WORK/big-cluster.jsonl" 2> "$WORK/big-cluster.err" &
  local pid=$! ns="" _
  for _ in $(seq 1 240); do
    ns=$(sed -n 's/.*--attach \([a-z0-9-]*\).*/\1/p' "$WORK/big-cluster.err" | head -1)
    [ -n "$ns" ] && [ -s "$WORK/big-cluster.jsonl" ] && break
    sleep 0.5
  done
  [ -n "$ns" ] || fail "the sharded check did not start: $(cat "$WORK/big-cluster.err")"
  local pod
  pod=$(k -n "$ns" get pods -l app.kubernetes.io/component=redis -o jsonpath='{.items[0].metadata.name}')
  # redis-server is PID 1 in its container: SIGTERM makes it exit, the kubelet restarts it.
  k -n "$ns" exec "$pod" -- kill -TERM 1 || fail "could not stop Redis in $pod"
  wait "$pid" || fail "the sharded check failed after the Redis restart: $(tail -5 "$WORK/big-cluster.err")"
  [ "$(k -n "$ns" get pod "$pod" -o jsonpath='{.status.containerStatuses[0].restartCount}' 2>/dev/null || echo gone)" != 0 ] || fail "Redis was not restarted"
  cmp -s "$WORK/big-local.jsonl" "$WORK/big-cluster.jsonl" || fail "the sharded output differs from the local one"
  grep -q 'came back empty' "$WORK/big-cluster.err" && fail "the run was re-sent: the append-only file did not keep it"
  return 0
}
sharded_check_redis_restart

step "plugin: status, then down leaves nothing"
ev status
ev down "$SINK_NS"
k get namespace "$SINK_NS" >/dev/null 2>&1 && fail "down left namespace $SINK_NS"
SINK_NS=""

step "a restricted user: a ServiceAccount that holds only the Role in $ROLE_FILE, in namespace $RBAC_NS"
[ -f "$ROLE_FILE" ] || fail "no Role file at $ROLE_FILE (pass --role FILE)"
k create namespace "$RBAC_NS" >/dev/null
k label namespace "$RBAC_NS" pod-security.kubernetes.io/enforce=restricted >/dev/null
k -n "$RBAC_NS" create serviceaccount ev-user >/dev/null
# The generated Role names its namespace NAMESPACE: put ours in.
ROLE_NAME="$(sed "s/^\(  namespace: \)NAMESPACE\$/\1$RBAC_NS/" "$ROLE_FILE" | k -n "$RBAC_NS" apply --server-side -f - -o jsonpath='{.metadata.name}')"
k -n "$RBAC_NS" create rolebinding ev-user --role "$ROLE_NAME" --serviceaccount "$RBAC_NS:ev-user" >/dev/null
USER_TOKEN="$(k -n "$RBAC_NS" create token ev-user --duration 1h)"
SERVER="$(k config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')"
CA="$(k config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}')"
{
  echo 'apiVersion: v1'
  echo 'kind: Config'
  echo "clusters: [{name: c, cluster: {server: \"$SERVER\", certificate-authority-data: \"$CA\"}}]"
  echo "users: [{name: ev-user, user: {token: \"$USER_TOKEN\"}}]"
  echo "contexts: [{name: ev-user, context: {cluster: c, user: ev-user, namespace: \"$RBAC_NS\"}}]"
  echo 'current-context: ev-user'
} > "$WORK/user.kubeconfig"
as_user() { KUBECONFIG="$WORK/user.kubeconfig" "$ROOT/plugin/bin/run.js" "$@"; }
KUBECONFIG="$WORK/user.kubeconfig" kubectl auth can-i create namespaces >/dev/null 2>&1 && fail "the restricted user can create namespaces: this part would prove nothing"
as_user up -n "$RBAC_NS" --wait 3m --node-image "$NODE_IMAGE" -o json >/dev/null || fail "up as the restricted user"
as_user send -n "$RBAC_NS" --to 'rbac{{n}}@example.com' --count 3 >/dev/null || fail "send as the restricted user"
as_user tail -n "$RBAC_NS" --no-follow -o json | grep -q '"type":"message.received"' || fail "tail as the restricted user"
as_user run -n "$RBAC_NS" "$ROOT/test/integration/flow/fixtures/job-sends-mail.yaml" || fail "a job step as the restricted user"
as_user check "$WORK/list.txt" --in-cluster --shards 2 --offline -n "$RBAC_NS" -o jsonl > "$WORK/rbac-results.jsonl" || fail "check --in-cluster as the restricted user"
as_user down "$RBAC_NS" || fail "down as the restricted user"

printf '\nOK: the real cluster behaves as the fake assumes.\n' >&2
