#!/usr/bin/env bash
# deploy/kubernetes/deploy.sh OVERLAY: one release of the suite on the current kubectl context (docs/operations.md).
#  1. settings, Services, volumes, network policies, the RabbitMQ and PostgreSQL resources (no process yet);
#  2. waits for the broker and the databases, imports the queue definitions;
#  3. the migration Jobs of this version (migrate + declare per service), waited for;
#  4. everything: the web and worker Deployments roll to the new version only after their migrations.
set -euo pipefail
overlay=${1:?usage: deploy.sh small|large|dev}
here=$(cd "$(dirname "$0")" && pwd)
dir=$here/overlays/$overlay
ns=$(kubectl kustomize "$dir" | sed -n 's/^  namespace: //p' | head -1)
kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"

echo "== 1. settings, services, storage, policies, broker and databases"
kubectl apply -k "$dir" -l 'app.kubernetes.io/component notin (web,worker)'

echo "== 2. waiting for RabbitMQ and PostgreSQL"
kubectl -n "$ns" wait --for=condition=AllReplicasReady rabbitmqcluster/motcua-rabbitmq --timeout=15m
kubectl -n "$ns" wait --for=condition=Ready cluster.postgresql.cnpg.io/motcua-pg --timeout=15m
kubectl -n "$ns" exec -i motcua-rabbitmq-server-0 -c rabbitmq -- rabbitmqctl import_definitions \
  < "$here/infra/definitions.json"

echo "== 3. migrations of this version"
kubectl -n "$ns" delete job -l app.kubernetes.io/component=migrate --ignore-not-found
kubectl apply -k "$dir/migrate"
kubectl -n "$ns" wait --for=condition=Complete job -l app.kubernetes.io/component=migrate --timeout=15m

echo "== 4. the processes"
kubectl apply -k "$dir"
for d in $(kubectl -n "$ns" get deployment -l app.kubernetes.io/part-of=motcua -o name); do
  kubectl -n "$ns" rollout status "$d" --timeout=10m
done
echo "deployed $overlay in namespace $ns"
