#!/usr/bin/env bash
# The end of `make demo`, on the stack `kuorum dev up` started: a generated secret, a
# sealed one (as committed to Git), a pod that the webhook injects with references to
# them and that runs on the local node and prints digests of what it read, and an audit
# of every node's ledger.
set -euo pipefail
cd "$(dirname "$0")/.."
state=${STATE_DIR:-.kuorum-dev}
export KUBECONFIG=$state/kubeconfig PATH=$PWD/$state/bin:$PATH
kuorum=${KUORUM:-.venv/bin/kuorum}

kubectl apply -f examples/generated-secret.yaml
kubectl wait -n shop dsec/db --for=condition=Ready --timeout=180s
echo
echo "A sealed secret, as it would be committed to Git: no value is readable in it."
"$kuorum" seal -n shop --name api-token --threshold 2 --shares 3 \
  --from-literal token="demo-$(date +%s)" -o "$state/api-token.yaml"
grep -c sealedShare "$state/api-token.yaml" | xargs echo "  sealed shares in $state/api-token.yaml:"
kubectl apply -f "$state/api-token.yaml"
kubectl wait -n shop dsec/api-token --for=condition=Ready --timeout=180s
kubectl get dsec -A
kubectl get snode
kubectl apply -f examples/quickstart-pod.yaml
echo
echo "The pod as stored: references to Secret shop/db, never a value."
kubectl get pod -n shop quickstart -o jsonpath='{range .spec.containers[*]}container {.name}: envFrom {.envFrom} mounts {.volumeMounts[?(@.readOnly==true)].mountPath}{"\n"}{end}'
if [ -n "$(kubectl get nodes -o name)" ]; then
  echo
  echo "The pod ran on the local node; it printed SHA-256 digests of what it read:"
  kubectl wait -n shop pod/quickstart --for=jsonpath='{.status.phase}'=Succeeded --timeout=180s
  kubectl logs -n shop quickstart | sed 's/^/  /'
  echo "  the Secret's password:   $(kubectl get secret -n shop db -o jsonpath='{.data.password}' | base64 -d | sha256sum)"
else
  echo "(no local node here, so the pod stays Pending; see 'kuorum dev up' for why)"
fi
echo
echo "Waiting until every node's checkpoint is cosigned by its peers (they witness every 30 s) ..."
witnessed='import json, sys; sys.exit(not all(n["witnesses"] for n in json.load(sys.stdin)["nodes"]))'
for _ in $(seq 45); do
  "$kuorum" ledger verify --json 2>/dev/null | python3 -c "$witnessed" && break
  sleep 2
done
"$kuorum" ledger verify
