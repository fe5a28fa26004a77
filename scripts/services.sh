#!/usr/bin/env bash
# Start the local PostgreSQL and Redis the integration tests use, if they are down.
# Fails with one clear line when a service cannot be started.
set -u
pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; }

if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null || [ ! -d /etc/postgresql ]; then
    echo "services: PostgreSQL is not installed here (need 127.0.0.1:5432, trust auth, database 'test')" >&2; exit 1
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start >/dev/null 2>&1 || true
fi
if ! redis_up; then
  if ! command -v redis-server >/dev/null; then
    echo "services: Redis is not installed here (need 127.0.0.1:6379)" >&2; exit 1
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null 2>&1 || true
fi
for _ in $(seq 1 60); do
  if pg_up && redis_up; then
    psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" 2>/dev/null | grep -q 1 \
      || createdb -h 127.0.0.1 -U postgres test 2>/dev/null || true
    exit 0
  fi
  sleep 0.5
done
pg_up || echo "services: PostgreSQL did not start on 127.0.0.1:5432" >&2
redis_up || echo "services: Redis did not start on 127.0.0.1:6379" >&2
exit 1
