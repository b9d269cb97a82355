#!/bin/sh
# Startup benchmark: builds kamal and prints the median wall time of
# `kamal version` and `kamal config` on a typical sample config.
# Uses hyperfine when installed, else a timing loop.
#
# Usage: bench/startup.sh [runs]   (default 50 runs)
set -eu

runs=${1:-50}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

(cd "$root" && go build -o "$work/kamal" ./cmd/kamal)
cp -r "$root/internal/config/testdata/configs/accessories/config" "$work/config"
cd "$work"
export VERSION=bench

if command -v hyperfine >/dev/null 2>&1; then
	hyperfine --warmup 3 --runs "$runs" --export-json "$work/h.json" \
		-n version "$work/kamal version" -n config "$work/kamal config" >/dev/null
	python3 - "$work/h.json" <<'PY'
import json, sys
for r in json.load(open(sys.argv[1]))["results"]:
    print("kamal %-8s median %.2f ms" % (r["command"], r["median"] * 1000))
PY
	exit 0
fi

# now_ns prints a nanosecond timestamp (GNU date; python3 as fallback).
now_ns() {
	t=$(date +%s%N 2>/dev/null)
	case $t in
	*N) python3 -c 'import time; print(time.monotonic_ns())' ;;
	*) echo "$t" ;;
	esac
}

median_ms() {
	name=$1
	shift
	"$@" >/dev/null 2>&1 || { echo "kamal $name failed" >&2; "$@"; exit 1; }
	i=0
	: >"$work/times"
	while [ "$i" -lt "$runs" ]; do
		start=$(now_ns)
		"$@" >/dev/null 2>&1
		end=$(now_ns)
		echo $((end - start)) >>"$work/times"
		i=$((i + 1))
	done
	sort -n "$work/times" | awk -v name="$name" '{ t[NR] = $1 } END {
		m = (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
		printf "kamal %-8s median %.2f ms (%d runs)\n", name, m / 1e6, NR
	}'
}

median_ms version "$work/kamal" version
median_ms config "$work/kamal" config
