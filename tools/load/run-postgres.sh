#!/usr/bin/env bash
# The figures of docs/benchmarks.md "With the paced refill": a fresh database, the server in
# Postgres mode with APP_TENANT_SCHEMA_POOL=POOLSIZE, a wait until the pool is full, then 60 s
# of the seed's mix. Needs the local Postgres (trust) and Redis.
# usage: tools/load/run-postgres.sh POOLSIZE LABEL   (e.g. 1200 pool, 0 base)
set -euo pipefail
POOL=$1; LABEL=$2
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/eusaas-load}
mkdir -p "$OUT"
go build -o $OUT/eusaas ./cmd/eusaas
( cd tools/load && go build -o $OUT/load . )
[ -f $OUT/keys/jwt-private.pem ] || $OUT/eusaas keys generate --dir $OUT/keys >/dev/null
DB=eusaas_load_$LABEL
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
KEK=$($OUT/eusaas gdpr keygen | sed -n 's/^APP_GDPR_KEY_ENCRYPTION_KEY=//p')
export APP_POSTGRES_HOST=127.0.0.1 APP_POSTGRES_USER=postgres APP_POSTGRES_DB=$DB \
  APP_REDIS_URL=redis://127.0.0.1:6379/0 APP_REDIS_KEY_PREFIX=load$LABEL: APP_HTTP_ADDR=127.0.0.1:18080 \
  APP_JWT_PRIVATE_KEY_FILE=$OUT/keys/jwt-private.pem APP_JWT_PUBLIC_KEY_FILE=$OUT/keys/jwt-public.pem \
  APP_BOOTSTRAP_ADMIN_EMAIL=root@load.example APP_BOOTSTRAP_ADMIN_PASSWORD='Load-Operator-Passw0rd!' \
  APP_LOG_LEVEL=WARN APP_PUBLIC_URL=http://127.0.0.1:18080 APP_GDPR_KEY_ENCRYPTION_KEY=$KEK APP_TENANT_SCHEMA_POOL=$POOL \
  APP_GDPR_ARCHIVE_DIR=$OUT/archive-$LABEL
$OUT/eusaas migrate >/dev/null
$OUT/eusaas serve > $OUT/server-$LABEL.log 2>&1 &
SRV=$!
trap 'kill $SRV 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do curl -sf http://127.0.0.1:18080/health >/dev/null && break; sleep 1; done
if [ "$POOL" -gt 0 ]; then
  for _ in $(seq 1 600); do
    n=$(psql -h 127.0.0.1 -U postgres -d $DB -tAc "SELECT count(*) FROM eusaas.tenant_schema_pool")
    [ "$n" -ge "$POOL" ] && break; sleep 2
  done
  echo "pool: $n spares"
fi
sleep 5
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
$OUT/load -target http://127.0.0.1:18080 -duration 60s
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
