# Sourced by .ci/run: PostgreSQL from Debian's packages and a throwaway cluster on loopback for the
# tests. Exports PBX_TEST_POSTGRES (and PBX_REQUIRE_POSTGRES=1, so its tests cannot be skipped);
# the cluster and its folder are removed when the calling script exits.

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "installing PostgreSQL from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
fi
PG_BIN="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")"
PG_DIR="$(mktemp -d /tmp/pbx-ci-pg.XXXXXX)"
PG_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
PG_AS=()
if [ "$(id -u)" = 0 ]; then  # PostgreSQL will not run as root
    chown postgres "$PG_DIR"
    PG_AS=(runuser -u postgres --)
fi
"${PG_AS[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres >/dev/null
"${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=200" start >/dev/null
stop_postgres() {
    "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
trap stop_postgres EXIT
export PBX_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
export PBX_REQUIRE_POSTGRES=1
echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"
