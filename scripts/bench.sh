#!/usr/bin/env bash
# Benchmark a local BucketDB: build the binary, start a fresh node (or a
# three-node cluster) in a temporary directory, run scripts/bench against it
# with the server's PID (for its peak RSS), report, and clean up.
#
#   scripts/bench.sh                      # standard + stream modes, one node
#   BENCH_NODES=3 scripts/bench.sh        # the same against a 3-node cluster (node 1)
#   BENCH_MODES=standard,versions,complete scripts/bench.sh -duration 10s
#   BENCH_SERVER_ARGS=--test-no-sync scripts/bench.sh   # extra server flags
#
# The objects are left in place (-keep): the data directory is thrown away.
# Extra arguments go to the bench tool (go run ./scripts/bench -h lists them).
# To benchmark another S3 server, run the tool directly:
#   go run ./scripts/bench -endpoint http://HOST:PORT -access-key K -secret-key S
set -euo pipefail

cd "$(dirname "$0")/.."
nodes=${BENCH_NODES:-1}
modes=${BENCH_MODES:-standard,stream}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bucketdb-bench.XXXXXX")
pids=()

cleanup() {
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

echo "bench.sh: building into $tmp"
go build -o "$tmp/bucketdb" ./cmd/bucketdb
go build -o "$tmp/bench" ./scripts/bench

export BUCKETDB_ACCESS_KEY="BENCH$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)"
export BUCKETDB_SECRET_KEY="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export BUCKETDB_CLUSTER_SECRET="$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"

# free_port prints a free loopback TCP port.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

endpoints=()
first_gossip=""
for i in $(seq 1 "$nodes"); do
	port=$(free_port)
	args=(server --data "$tmp/data$i" --listen "127.0.0.1:$port")
	# BENCH_SERVER_ARGS adds server flags, e.g. "--test-no-sync" to see what fsync costs.
	# shellcheck disable=SC2206
	args+=(${BENCH_SERVER_ARGS:-})
	if [ "$nodes" -gt 1 ]; then
		gossip=$(free_port)
		args+=(--node-id "n$i" --gossip "127.0.0.1:$gossip")
		if [ -n "$first_gossip" ]; then
			args+=(--join "$first_gossip")
		else
			first_gossip="127.0.0.1:$gossip"
		fi
	fi
	"$tmp/bucketdb" "${args[@]}" >"$tmp/node$i.log" 2>&1 &
	pids+=($!)
	endpoints+=("http://127.0.0.1:$port")
	if [ "$i" -eq 1 ] && [ "$nodes" -gt 1 ]; then
		sleep 1 # let the first node open its gossip port before the others join
	fi
done

# Every node must answer before the load starts (the tool waits for
# /health/ready and round-trips a bucket); then give gossip a moment.
for ep in "${endpoints[@]}"; do
	"$tmp/bench" -endpoint "$ep" -access-key "$BUCKETDB_ACCESS_KEY" -secret-key "$BUCKETDB_SECRET_KEY" \
		-wait-ready 60s -modes "" >/dev/null
done
[ "$nodes" -gt 1 ] && sleep 2

echo "bench.sh: $nodes node(s), benchmarking ${endpoints[0]} (server PID ${pids[0]})"
status=0
"$tmp/bench" -endpoint "${endpoints[0]}" -access-key "$BUCKETDB_ACCESS_KEY" -secret-key "$BUCKETDB_SECRET_KEY" \
	-pid "${pids[0]}" -wait-ready 60s -modes "$modes" -keep "$@" || status=$?

for i in "${!pids[@]}"; do
	hwm=$(awk '/^VmHWM:/ {printf "%.0f MiB", $2/1024}' "/proc/${pids[$i]}/status" 2>/dev/null || echo "?")
	echo "bench.sh: node $((i + 1)) (PID ${pids[$i]}) peak RSS (VmHWM): $hwm"
done
if [ "$status" -ne 0 ]; then
	echo "bench.sh: the benchmark failed; server log tail:" >&2
	tail -n 40 "$tmp/node1.log" >&2
fi
exit "$status"
