#!/bin/bash
# Runs once, inside the official postgres image's entrypoint, when the
# primary (postgres-0) initializes an empty data directory: the
# application role and database, and the replication role the replica
# clones and streams with. Passwords come from the tixin-secrets Secret.
set -euo pipefail
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
     -v app_pw="$TIXIN_DB_PASSWORD" -v repl_pw="$REPLICATION_PASSWORD" <<'SQL'
CREATE ROLE tixin LOGIN PASSWORD :'app_pw';
CREATE DATABASE tixin OWNER tixin;
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD :'repl_pw';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
