#!/usr/bin/env bash
# Smoke test against a REAL cluster (kind, k3d, minikube, or any context you own).
# Not run in CI: the build machines have no control plane; CI uses the fake API
# server in test/support/fake-kube/. This script checks the same behaviours the
# fake models, so a drift between the fake and Kubernetes shows up here.
#
# Usage: test/support/real-cluster.sh [--context NAME] [--node-image IMAGE] [--keep]
#   --context     kubeconfig context (default: current-context)
#   --node-image  Node.js image for the sink (default: node:24-alpine; use a mirror if needed)
#   --keep        do not delete what the script created
#
# Needs: kubectl, node >= 22.19, npm; rights to create namespaces.
# A throwaway cluster:  kind create cluster --name ev   (or: k3d cluster create ev; minikube start)
set -euo pipefail

CONTEXT=""
NODE_IMAGE="node:24-alpine"
KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --context) CONTEXT="$2"; shift 2 ;;
    --node-image) NODE_IMAGE="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KFLAGS=()
[ -n "$CONTEXT" ] && KFLAGS+=(--context "$CONTEXT")
k() { kubectl "${KFLAGS[@]}" "$@"; }
ev() { "$ROOT/plugin/bin/run.js" "$@" "${KFLAGS[@]}"; }
step() { printf '\n==> %s\n' "$*" >&2; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

NS="ev-real-cluster-$(date +%s)"
cleanup() {
  if [ "$KEEP" = 0 ]; then
    k delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
    [ -n "${SINK_NS:-}" ] && ev down "$SINK_NS" >/dev/null 2>&1 || true
  fi
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

step "plugin: status, then down leaves nothing"
ev status
ev down "$SINK_NS"
k get namespace "$SINK_NS" >/dev/null 2>&1 && fail "down left namespace $SINK_NS"
SINK_NS=""

printf '\nOK: the real cluster behaves as the fake assumes.\n' >&2
