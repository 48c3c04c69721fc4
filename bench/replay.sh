#!/usr/bin/env bash
# Whole-program replay benchmark: the same big capture through
#   (a) pcap_read_loop            bare libpcap loop, header only: the ceiling
#   (b) netmicroscope probe       -r BIG --ta /dev/null --stats ...
#   (c) ndpiReader (nDPI 4.2)     -i BIG -q: a DPI engine doing comparable per-flow work
# measured in the same run, on the same file, from the page cache, best of N wall times, each
# pinned to one core. Prints a table and writes the same as JSON to BUILD_DIR/bench-replay.json.
#
#   bench/replay.sh [BUILD_DIR] [CORPUS_NDPI_DIR]
#
# BUILD_DIR defaults to ./build of the repository; it must hold bench/pcap_read_loop and
# bench/make_replay_capture (cmake --build BUILD_DIR --target pcap_read_loop make_replay_capture)
# and, for row (b), netmicroscope. CORPUS_NDPI_DIR defaults to NM_CORPUS_DIR/ndpi from
# BUILD_DIR's CMake cache. Environment:
#   NM_REPLAY_MIN_PACKETS  packets in the big input, at least (default 1000000)
#   NM_REPLAY_MODE         distinct (default: each copy of the corpus gets shifted IP addresses,
#                          so its flows are new) or same-flows (plain copies)
#   NM_REPLAY_RUNS         runs per tool; the best wall time counts (default 3)
#   NM_REPLAY_CPU          core to pin every tool to (default: the last one; empty = no pinning)
#   NM_PROBE               the netmicroscope binary (default BUILD_DIR/netmicroscope)
#   NM_REPLAY_KEEP=1       keep the work folder (big input, outputs) under $TMPDIR or /tmp
# Needs GNU time (/usr/bin/time; apt-get install time). Without netmicroscope or ndpiReader
# their rows say so and are skipped. The probe target (issue): >= 50% of pcap_read_loop's packets/s.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=$(cd "${1:-$repo/build}" && pwd)
if [[ $# -ge 2 ]]; then
  corpus=$2
else
  corpus_root=$(sed -n 's/^NM_CORPUS_DIR:[A-Z]*=//p' "$build_dir/CMakeCache.txt" 2>/dev/null || true)
  corpus=${corpus_root:-$repo/../shared/corpus}/ndpi
fi
min_packets=${NM_REPLAY_MIN_PACKETS:-1000000}
mode=${NM_REPLAY_MODE:-distinct}
runs=${NM_REPLAY_RUNS:-3}
cpu=${NM_REPLAY_CPU-$(($(nproc) - 1))}
probe=${NM_PROBE:-$build_dir/netmicroscope}
loop=$build_dir/bench/pcap_read_loop
maker=$build_dir/bench/make_replay_capture
json_out=$build_dir/bench-replay.json

die() {
  echo "replay.sh: $*" >&2
  exit 1
}
[[ -x $loop && -x $maker ]] ||
  die "build first: cmake --build $build_dir --target pcap_read_loop make_replay_capture"
[[ -x /usr/bin/time ]] || die "GNU time is missing: apt-get install -y time"
[[ -d $corpus ]] || die "no corpus folder $corpus"
[[ $mode == distinct || $mode == same-flows ]] || die "NM_REPLAY_MODE is distinct or same-flows"
pin=()
if [[ -n $cpu ]] && command -v taskset >/dev/null; then
  pin=(taskset -c "$cpu")
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/nm-replay.XXXXXX")
if [[ ${NM_REPLAY_KEEP:-0} != 1 ]]; then
  trap 'rm -rf "$work"' EXIT
fi
big=$work/replay.pcap

# --- the input --------------------------------------------------------------------------------
# make_replay_capture keeps the Ethernet captures only (it asks libpcap for each file's link
# type, as capinfos would) and concatenates them, as mergecap -a would, copy after copy.
mapfile -d '' captures < <(find "$corpus" -maxdepth 1 -type f \
  \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0 | sort -z)
[[ ${#captures[@]} -gt 0 ]] || die "no captures in $corpus"
maker_args=(--min-packets "$min_packets")
[[ $mode == same-flows ]] && maker_args+=(--same-flows)
input_json=$("$maker" "${maker_args[@]}" "$big" "${captures[@]}" 2>"$work/maker.err") ||
  die "make_replay_capture failed: $(tail -3 "$work/maker.err")"
field() { # field NAME JSON -> the number after "NAME":
  sed -n "s/.*\"$1\": *\(-\?[0-9.]*\).*/\1/p" <<<"$2" | head -1
}
packets=$(field packets "$input_json")
copies=$(field copies "$input_json")
files_used=$(field files "$input_json")
files_skipped=$(field skipped "$input_json")
big_bytes=$(stat -c %s "$big")
cat "$big" >/dev/null # page cache: every tool reads from memory

cpu_model=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
echo "input: $packets packets ($copies copies of $files_used Ethernet captures, $files_skipped" \
  "other files skipped, mode $mode), $((big_bytes / 1048576)) MiB, page cache warm"
echo "machine: $(nproc) cores, ${cpu_model:-unknown CPU}; pinned to: ${pin[*]:-none}; best of $runs"

# --- the tools --------------------------------------------------------------------------------
tools=(pcap_read_loop netmicroscope_probe netmicroscope_classify ndpiReader)
declare -A cmd_status best_wall best_user best_sys peak_rss
ndpi=$(command -v ndpiReader || true)
for t in "${tools[@]}"; do
  cmd_status[$t]=ok
  best_wall[$t]=
  peak_rss[$t]=0
done
[[ -x $probe ]] || cmd_status[netmicroscope_probe]="missing: $probe not built yet"
[[ -x $probe ]] || cmd_status[netmicroscope_classify]="missing: $probe not built yet"
[[ -n $ndpi ]] || cmd_status[ndpiReader]="missing: apt-get install -y libndpi-bin"

command_for() { # the argv of one tool, into the array `cmd`
  case $1 in
    pcap_read_loop) cmd=("$loop" "$big") ;;
    # The capture core alone (decode, flows, windows, TA records)...
    netmicroscope_probe)
      cmd=("$probe" probe -r "$big" --ta /dev/null --no-classify --stats "$work/probe-stats.json") ;;
    # ...and the default: with classification (SNI, QUIC, HTTP, DNS, prefixes, signatures).
    netmicroscope_classify) cmd=("$probe" probe -r "$big" --ta /dev/null) ;;
    ndpiReader) cmd=("$ndpi" -i "$big" -q) ;;
  esac
}

# One run: wall time from bash's clock, user/sys CPU and peak RSS from GNU time.
run_once() {
  local t=$1 start end wall user sys rss rc=0
  command_for "$t"
  start=$EPOCHREALTIME
  /usr/bin/time -f '%U %S %M' -o "$work/$t.time" "${pin[@]}" "${cmd[@]}" \
    >"$work/$t.out" 2>"$work/$t.err" || rc=$?
  end=$EPOCHREALTIME
  if [[ $rc -ne 0 ]]; then
    cmd_status[$t]="failed: exit $rc: $(tail -c 300 "$work/$t.err" | tr '\n' ' ')"
    return
  fi
  read -r user sys rss < <(tail -1 "$work/$t.time")
  wall=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.4f", e - s }')
  if [[ -z ${best_wall[$t]} ]] || awk -v a="$wall" -v b="${best_wall[$t]}" 'BEGIN { exit !(a < b) }'; then
    best_wall[$t]=$wall
    best_user[$t]=$user
    best_sys[$t]=$sys
  fi
  ((rss > peak_rss[$t])) && peak_rss[$t]=$rss
  return 0
}

# Rounds interleave the tools, so a noisy neighbour slows all of them rather than one.
for ((r = 1; r <= runs; r++)); do
  for t in "${tools[@]}"; do
    [[ ${cmd_status[$t]} == ok ]] && run_once "$t"
  done
done

[[ ${cmd_status[pcap_read_loop]} == ok ]] || die "pcap_read_loop ${cmd_status[pcap_read_loop]}"
loop_json=$(cat "$work/pcap_read_loop.out")
[[ $(field packets "$loop_json") == "$packets" ]] ||
  die "pcap_read_loop read $(field packets "$loop_json") packets, the input has $packets"
wire_bytes=$(field wire_bytes "$loop_json")
loop_wall=${best_wall[pcap_read_loop]}

# --- the probe's memory per flow (when its --stats JSON has the counters) ---------------------
flow_json=null
if [[ ${cmd_status[netmicroscope_probe]} == ok && -s $work/probe-stats.json ]]; then
  stats=$(tr -d '\n' <"$work/probe-stats.json")
  active_peak=$(field flow.active_peak "$stats")
  bytes_peak=$(field flow.bytes_peak "$stats")
  bytes_per_flow=$(field flow.bytes_per_flow "$stats")
  probe_frames=$(field capture.received "$stats")
  [[ -z $probe_frames || $probe_frames == "$packets" ]] ||
    echo "warning: the probe read $probe_frames packets, the input has $packets" >&2
  # Growth of peak RSS over a 1-packet run, per active flow: an upper bound that includes
  # everything else that grows with flows (window and report state).
  rss_growth=
  if [[ -n $active_peak && $active_peak -gt 0 ]] && command -v editcap >/dev/null; then
    editcap -r "$big" "$work/one-packet.pcap" 1 2>/dev/null
    if /usr/bin/time -f '%M' -o "$work/tiny.time" "$probe" probe -r "$work/one-packet.pcap" \
      --ta /dev/null >/dev/null 2>&1; then
      tiny_rss=$(tail -1 "$work/tiny.time")
      rss_growth=$(((peak_rss[netmicroscope_probe] - tiny_rss) * 1024 / active_peak))
    fi
  fi
  if [[ -n $active_peak ]]; then
    per_flow_counter=null
    [[ -n $bytes_peak && $active_peak -gt 0 ]] && per_flow_counter=$((bytes_peak / active_peak))
    flow_json=$(printf '{"active_peak":%s,"bytes_peak":%s,"bytes_per_flow_from_bytes_peak":%s,"bytes_per_flow_counter":%s,"rss_growth_bytes_per_flow":%s}' \
      "$active_peak" "${bytes_peak:-null}" "$per_flow_counter" "${bytes_per_flow:-null}" \
      "${rss_growth:-null}")
  fi
fi

# --- report -----------------------------------------------------------------------------------
printf '\n%-20s %9s %9s %9s %8s %8s %9s %10s\n' tool packets seconds user_s Mpps Gbit/s "x loop" "peak RSS"
results=()
for t in "${tools[@]}"; do
  if [[ ${cmd_status[$t]} != ok ]]; then
    printf '%-20s %s\n' "$t" "${cmd_status[$t]}"
    results+=("$(printf '{"tool":"%s","status":"%s"}' "$t" "${cmd_status[$t]//\"/\'}")")
    continue
  fi
  read -r mpps gbps ratio < <(awk -v p="$packets" -v b="$wire_bytes" -v w="${best_wall[$t]}" \
    -v l="$loop_wall" 'BEGIN { printf "%.3f %.3f %.3f\n", p / w / 1e6, b * 8 / w / 1e9, l / w }')
  printf '%-23s %9s %9s %9s %8s %8s %9s %7s MiB\n' "$t" "$packets" "${best_wall[$t]}" \
    "${best_user[$t]}" "$mpps" "$gbps" "$ratio" "$((peak_rss[$t] / 1024))"
  results+=("$(printf '{"tool":"%s","status":"ok","packets":%s,"seconds":%s,"user_seconds":%s,"sys_seconds":%s,"mpps":%s,"gbps":%s,"ratio_vs_pcap_read_loop":%s,"peak_rss_kib":%s}' \
    "$t" "$packets" "${best_wall[$t]}" "${best_user[$t]}" "${best_sys[$t]}" "$mpps" "$gbps" \
    "$ratio" "${peak_rss[$t]}")")
done

target_json=null
if [[ ${cmd_status[netmicroscope_probe]} == ok ]]; then
  ratio=$(awk -v l="$loop_wall" -v w="${best_wall[netmicroscope_probe]}" 'BEGIN { printf "%.3f", l / w }')
  met=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.5) ? "true" : "false" }')
  echo "probe target: >= 0.50 x pcap_read_loop packets/s; measured $ratio x: $([[ $met == true ]] && echo met || echo NOT met)"
  target_json=$(printf '{"min_ratio":0.5,"ratio":%s,"met":%s}' "$ratio" "$met")
else
  echo "probe target: >= 0.50 x pcap_read_loop packets/s; not measured (${cmd_status[netmicroscope_probe]})"
fi
classify_json=null
if [[ ${cmd_status[netmicroscope_classify]} == ok && ${cmd_status[ndpiReader]} == ok ]]; then
  speedup=$(awk -v n="${best_wall[ndpiReader]}" -v w="${best_wall[netmicroscope_classify]}" \
    'BEGIN { printf "%.2f", n / w }')
  met=$(awk -v r="$speedup" 'BEGIN { print (r >= 3) ? "true" : "false" }')
  echo "classify target: probe with classification >= 3 x ndpiReader packets/s; measured $speedup x: $([[ $met == true ]] && echo met || echo NOT met)"
  classify_json=$(printf '{"min_speedup_vs_ndpiReader":3,"speedup":%s,"met":%s}' "$speedup" "$met")
fi
if [[ $flow_json != null ]]; then
  echo "probe flows: $flow_json"
else
  echo "probe memory per flow: no flow.active_peak in the probe's --stats output"
fi

joined=$(IFS=,; echo "${results[*]}")
printf '{"input":{"packets":%s,"wire_bytes":%s,"file_bytes":%s,"copies":%s,"mode":"%s","ethernet_captures":%s,"corpus":"%s"},"machine":{"cores":%s,"cpu":"%s","pinned_cpu":"%s"},"runs":%s,"timing":"best wall time of the runs (bash clock); user/sys of that run; peak RSS of all runs (GNU time)","results":[%s],"probe_target":%s,"classify_target":%s,"probe_flows":%s}\n' \
  "$packets" "$wire_bytes" "$big_bytes" "$copies" "$mode" "$files_used" "$corpus" "$(nproc)" \
  "$cpu_model" "$cpu" "$runs" "$joined" "$target_json" "$classify_json" "$flow_json" >"$json_out"
echo "wrote $json_out"
