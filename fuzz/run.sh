#!/usr/bin/env bash
# Builds the libFuzzer targets with clang + ASan/UBSan in build-fuzz/ and fuzzes each for a
# bounded time. Usage: fuzz/run.sh [SECONDS_PER_TARGET] [TARGET...]  (default 60 s; all targets:
# fuzz_decode fuzz_tls_sni fuzz_http_host fuzz_dns fuzz_quic fuzz_signatures fuzz_certificate
# fuzz_ta_parser fuzz_rdns_answer).
# Exits non-zero when a fuzzer finds
# a crash, a sanitizer report, a broken invariant or a hang; the input is in build-fuzz/artifacts/.
set -euo pipefail

seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_decode fuzz_tls_sni fuzz_http_host fuzz_dns fuzz_quic
  fuzz_signatures fuzz_certificate fuzz_ta_parser fuzz_rdns_answer)
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build-fuzz"
artifacts="${build}/artifacts"

# NM_WERROR=OFF: the regular build enforces warnings; this one exists to find crashes, and should
# not stop on a clang-only warning in a library it merely links.
flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S "${root}" -B "${build}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="${flags}" \
  -DNM_BUILD_FUZZ=ON -DNM_BUILD_TESTS=OFF -DNM_BUILD_BENCH=OFF -DNM_WERROR=OFF > /dev/null
cmake --build "${build}" -j"$(nproc)" --target "${targets[@]}"

mkdir -p "${artifacts}"
for target in "${targets[@]}"; do
  corpus="${root}/fuzz/corpus-run/${target}"  # grows across runs; ignored by git
  mkdir -p "${corpus}"
  # Seeds: valid inputs, and every crasher found so far (the decoder's are flat in seeds/ and
  # regressions/, where its unit tests replay them).
  seed_dirs=("seeds-${target}" "regressions-${target}")
  [ "${target}" = fuzz_decode ] && seed_dirs=(seeds regressions)
  for dir in "${seed_dirs[@]}"; do
    if compgen -G "${root}/fuzz/${dir}/*" > /dev/null; then
      cp -n "${root}/fuzz/${dir}/"* "${corpus}/"
    fi
  done
  dict=()
  [ -f "${root}/fuzz/${target#fuzz_}.dict" ] && dict=(-dict="${root}/fuzz/${target#fuzz_}.dict")
  echo "== ${target}: ${seconds} s"
  log="${build}/${target}.log"
  rc=0
  "${build}/fuzz/${target}" "${corpus}" "${dict[@]}" \
    -max_total_time="${seconds}" \
    -timeout=10 \
    -artifact_prefix="${artifacts}/${target}-" \
    -print_final_stats=1 > "${log}" 2>&1 || rc=$?
  grep -E "^stat::number_of_executed_units|^Done|ERROR|SUMMARY" "${log}" || true
  if [ "${rc}" -ne 0 ]; then
    tail -n 40 "${log}" >&2
    echo "${target}: the fuzzer failed (exit ${rc}); input in ${artifacts}" >&2
    exit 1
  fi
done
