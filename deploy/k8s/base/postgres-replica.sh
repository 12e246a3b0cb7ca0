#!/bin/bash
# Init container of every postgres pod. postgres-0 is the primary and needs
# nothing here (the image's entrypoint runs initdb + postgres-init.sh).
# Any other ordinal is a streaming replica: on first start it clones the
# primary with pg_basebackup (-R writes standby.signal and primary_conninfo;
# -C -S creates its replication slot, so the primary keeps the WAL the
# replica has not received yet, e.g. while the link to it is down).
set -euo pipefail
ordinal=${HOSTNAME##*-}
if [[ $ordinal == 0 ]]; then exit 0; fi
if [[ -s "$PGDATA/PG_VERSION" ]]; then
    echo "replica data present in $PGDATA"; exit 0
fi
until pg_isready -h postgres-0.postgres -p 5432 -U replicator; do sleep 2; done
rm -rf "${PGDATA:?}"/*
PGPASSWORD=$REPLICATION_PASSWORD pg_basebackup -h postgres-0.postgres -p 5432 \
    -U replicator -D "$PGDATA" -X stream -R -C -S "replica_$ordinal" --checkpoint=fast
chmod 0700 "$PGDATA"
