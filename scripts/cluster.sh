#!/usr/bin/env bash
# Start or stop a local three-node BucketDB cluster on 127.0.0.1.
#
#   scripts/cluster.sh start DIR   # S3 on 9001, 9002, 9003; data, logs and pids under DIR
#   scripts/cluster.sh stop DIR
#
# Credentials and the cluster secret come from BUCKETDB_ACCESS_KEY /
# BUCKETDB_SECRET_KEY / BUCKETDB_CLUSTER_SECRET, or are generated once into
# DIR/env and reused on the next start. BUCKETDB_BIN overrides the binary.
set -euo pipefail
cmd=${1:-}; dir=${2:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BUCKETDB_BIN:-$root/bin/bucketdb}

stop() {
	for n in 1 2 3; do
		pidf="$dir/n$n.pid"
		[ -f "$pidf" ] || continue
		pid=$(cat "$pidf")
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		rm -f "$pidf"
	done
}

wait_ready() {
	for _ in $(seq 300); do
		curl -fsS "http://127.0.0.1:900$1/health/ready" >/dev/null 2>&1 && return 0
		kill -0 "$(cat "$dir/n$1.pid")" 2>/dev/null || break
		sleep 0.1
	done
	echo "node n$1 did not become ready; see $dir/n$1.log" >&2
	exit 1
}

start() {
	mkdir -p "$dir"
	if [ ! -x "$bin" ] || [ -z "${BUCKETDB_BIN:-}" ]; then
		(cd "$root" && go build -o "$bin" ./cmd/bucketdb)
	fi
	if [ ! -f "$dir/env" ]; then
		rnd() { head -c 24 /dev/urandom | base64 | tr -d '/+=' | head -c "$1"; }
		{
			echo "BUCKETDB_ACCESS_KEY=${BUCKETDB_ACCESS_KEY:-BDB$(rnd 16)}"
			echo "BUCKETDB_SECRET_KEY=${BUCKETDB_SECRET_KEY:-$(rnd 32)}"
			echo "BUCKETDB_CLUSTER_SECRET=${BUCKETDB_CLUSTER_SECRET:-$(rnd 32)}"
		} > "$dir/env"
		chmod 600 "$dir/env"
	fi
	set -a; . "$dir/env"; set +a
	# n1 first: the others join through its gossip port.
	for n in 1 2 3; do
		if [ -f "$dir/n$n.pid" ] && kill -0 "$(cat "$dir/n$n.pid")" 2>/dev/null; then
			echo "node n$n already running (pid $(cat "$dir/n$n.pid"))"; continue
		fi
		join=""; [ "$n" != 1 ] && join="--join 127.0.0.1:7901"
		# shellcheck disable=SC2086
		nohup "$bin" server --data "$dir/n$n" --listen "127.0.0.1:900$n" --node-id "n$n" \
			--gossip "127.0.0.1:790$n" $join >> "$dir/n$n.log" 2>&1 &
		echo $! > "$dir/n$n.pid"
		wait_ready "$n"
	done
	echo "BucketDB cluster of 3 is ready:"
	for n in 1 2 3; do echo "  n$n  http://127.0.0.1:900$n   (log $dir/n$n.log)"; done
	echo "  access key: $BUCKETDB_ACCESS_KEY"
	echo "  secret key: $BUCKETDB_SECRET_KEY"
	echo "  status:     $bin cluster status --endpoint http://127.0.0.1:9001   (with the keys in $dir/env)"
}

case "$cmd" in
start) start ;;
stop) stop ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
