#!/usr/bin/env bash
# fsbench.sh MOUNTPOINT [PID]
#
# A file system benchmark that runs against any mount point (bucketdb mount,
# s3fs, rclone mount, goofys, a local directory), so that clients can be
# compared on the same server. It works in MOUNTPOINT/fsbench-$$ and removes
# it afterwards. With PID (the mount process), its peak RSS while writing is
# reported too. Environment: SIZE_MB (default 1024), SMALL (1000 files),
# MANY (10000 files), TREE (3000 files in the untarred tree).
set -euo pipefail

mnt=${1:?usage: fsbench.sh MOUNTPOINT [PID]}
pid=${2:-}
size_mb=${SIZE_MB:-1024}
small=${SMALL:-1000}
many=${MANY:-10000}
tree=${TREE:-3000}
work="$mnt/fsbench-$$"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; rm -rf "$work" 2>/dev/null || true' EXIT

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l; }
report() { printf '%-44s %10.2f s  %s\n' "$1" "$2" "${3:-}"; }
drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true; }

peak_rss() { # sample the mount's RSS while a command runs
  [ -n "$pid" ] || { "$@"; return; }
  local peak=0 r
  "$@" & local job=$!
  while kill -0 "$job" 2>/dev/null; do
    r=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "$r" -gt "$peak" ] && peak=$r
    sleep 0.2
  done
  wait "$job"
  echo "$peak" >"$tmp/peak"
}

mkdir -p "$work"
echo "fsbench on $mnt ($(stat -f -c %T "$mnt"))"

# 1. Sequential write and read of a large file.
t0=$(now)
peak_rss dd if=/dev/zero of="$work/big" bs=1M count="$size_mb" conv=fsync status=none
t1=$(now)
d=$(secs "$t0" "$t1")
report "sequential write ${size_mb} MiB (dd, fsync)" "$d" "$(echo "$size_mb * 1.048576 / $d" | bc -l | xargs printf '%.0f MB/s')"
[ -f "$tmp/peak" ] && echo "  mount peak RSS while writing: $(( $(cat "$tmp/peak") / 1024 )) MiB"
drop_caches
t0=$(now)
dd if="$work/big" of=/dev/null bs=1M status=none
t1=$(now)
d=$(secs "$t0" "$t1")
report "sequential read ${size_mb} MiB (dd, cold)" "$d" "$(echo "$size_mb * 1.048576 / $d" | bc -l | xargs printf '%.0f MB/s')"
rm -f "$work/big"

# 2. Create, stat and delete small files. The loops use shell builtins
# (printf > file: open/write/close; [ -f ]: stat) so that they time the file
# system, not process start-up: a cp or stat process per file costs several
# milliseconds on a small VM even on a local disk.
data=$(head -c 3072 /dev/urandom | base64 -w0) # 4096 printable bytes
mkdir "$work/small"
t0=$(now)
for i in $(seq 1 "$small"); do printf '%s' "$data" >"$work/small/f$i"; done
t1=$(now)
report "create $small x 4 KiB files" "$(secs "$t0" "$t1")"
[ "$(stat -c %s "$work/small/f$small")" = 4096 ] || { echo "fsbench: created file has the wrong size" >&2; exit 1; }
t0=$(now)
for i in $(seq 1 "$small"); do [ -f "$work/small/f$i" ] || { echo "fsbench: f$i missing" >&2; exit 1; }; done
t1=$(now)
report "stat $small files" "$(secs "$t0" "$t1")"
t0=$(now)
rm -rf "$work/small"
t1=$(now)
report "delete $small files" "$(secs "$t0" "$t1")"

# 3. ls -l of a directory of many files (created through the mount).
mkdir "$work/many"
(cd "$work/many" && seq 1 "$many" | sed 's/^/f/' | xargs -P 8 -n 200 touch)
drop_caches
sleep "${LS_WAIT:-2}" # let attribute caches expire: a cold listing
t0=$(now)
n=$(ls -l "$work/many" | wc -l)
t1=$(now)
report "ls -l of $many files (cold, $((n - 1)) lines)" "$(secs "$t0" "$t1")"
t0=$(now)
ls -l "$work/many" >/dev/null
t1=$(now)
report "ls -l of $many files (warm)" "$(secs "$t0" "$t1")"
rm -rf "$work/many"

# 4. Untar a source-like tree of a few thousand files.
src="$tmp/tree"
mkdir -p "$src"
for i in $(seq 1 "$tree"); do
  d="$src/dir$((i % 60))/sub$((i % 7))"
  mkdir -p "$d"
  head -c $(( (i * 997) % 20000 + 100 )) /dev/urandom >"$d/file$i.c"
done
tar -C "$tmp" -cf "$tmp/tree.tar" tree
t0=$(now)
tar -C "$work" -xf "$tmp/tree.tar"
t1=$(now)
report "untar $tree files ($(du -sm "$tmp/tree.tar" | cut -f1) MiB)" "$(secs "$t0" "$t1")"
t0=$(now)
rm -rf "$work/tree"
t1=$(now)
report "rm -rf of that tree" "$(secs "$t0" "$t1")"
