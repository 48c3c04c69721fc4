#!/usr/bin/env bash
# Golden outputs of the bundled samples: TA records, counters and per-flow classification.
#   golden_test.sh NETMICROSCOPE SAMPLES_DIR
# Compares with tests/golden/<sample>.{ta,stats.json,classify.txt}; UPDATE_GOLDEN=1 rewrites
# them instead, and reviewers read the diff.
set -euo pipefail
bin=$1
samples=$2
golden=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

status=0
for pcap in "$samples"/*.pcap; do
  name=$(basename "$pcap" .pcap)
  "$bin" probe -r "$pcap" --ta "$out/$name.ta" --stats "$out/$name.stats.json" 2>/dev/null
  "$bin" classify -r "$pcap" --no-ndpi > "$out/$name.classify.txt"
  for kind in ta stats.json classify.txt; do
    if [[ ${UPDATE_GOLDEN:-0} == 1 ]]; then
      cp "$out/$name.$kind" "$golden/$name.$kind"
      echo "updated $golden/$name.$kind"
    elif ! diff -u "$golden/$name.$kind" "$out/$name.$kind" > "$out/diff"; then
      echo "MISMATCH $name.$kind (UPDATE_GOLDEN=1 to accept):"
      head -n 40 "$out/diff"
      status=1
    else
      echo "ok $name.$kind"
    fi
  done
done
exit $status
