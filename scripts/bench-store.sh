#!/usr/bin/env bash
# Side-by-side store benchmark: the embedded store and a local etcd, same machine, same disk,
# interleaved rounds. Prints every run as a JSON line, then the median per scenario and backend
# and the embedded/etcd ratio. Needs etcd on PATH (Debian: etcd-server).
#   scripts/bench-store.sh [ROUNDS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
cargo build --release -q -p store
bench=target/release/store-bench
work=$(mktemp -d "${TMPDIR:-/var/tmp}/rkube-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"

run() { # backend scenario args...
  local backend=$1 scenario=$2; shift 2
  local dir="$work/$backend-$scenario-$RANDOM"
  "$bench" --backend "$backend" --scenario "$scenario" --data-dir "$dir" "$@" | tee -a "$results"
  rm -rf "$dir"
}

for round in $(seq "$rounds"); do
  for backend in embedded etcd; do
    run "$backend" put --clients 64 --ops 50000 --value-size 1024
    run "$backend" range --clients 1 --ops 50 --value-size 1024
    run "$backend" watch --clients 100 --ops 20000 --value-size 1024
  done
done

python3 - "$results" <<'PY'
import json, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
fields = ["ops_per_sec", "p50_ms", "p99_ms", "rss_bytes_per_key", "writes_per_sec"]
med = {}
for r in runs:
    for f in fields:
        if r.get(f) is not None:
            med.setdefault((r["scenario"], r["backend"], f), []).append(r[f])
print(f"\n{'scenario':8} {'figure':18} {'embedded':>12} {'etcd':>12} {'ratio':>7}   (medians of {len(runs)//6} rounds)")
for scenario in ["put", "range", "watch"]:
    for f in fields:
        e, d = med.get((scenario, "embedded", f)), med.get((scenario, "etcd", f))
        if not e or not d:
            continue
        e, d = statistics.median(e), statistics.median(d)
        print(f"{scenario:8} {f:18} {e:12.2f} {d:12.2f} {e / d if d else float('nan'):7.2f}")
PY
