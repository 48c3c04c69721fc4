#!/usr/bin/env bash
# Builds the libFuzzer targets with clang + ASan/UBSan in build-fuzz/ and fuzzes decode() for a
# bounded time. Usage: fuzz/run.sh [SECONDS]  (default 60). Exits non-zero when the fuzzer finds
# a crash, a sanitizer report, a broken invariant or a hang; the input is in build-fuzz/artifacts/.
set -euo pipefail

seconds="${1:-60}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${root}/build-fuzz"
corpus="${root}/fuzz/corpus-run"  # grows across runs; ignored by git
artifacts="${build}/artifacts"

# NM_WERROR=OFF: the regular build enforces warnings; this one exists to find crashes, and should
# not stop on a clang-only warning in a library it merely links.
flags="-fsanitize=address,undefined,fuzzer-no-link -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S "${root}" -B "${build}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DCMAKE_CXX_FLAGS="${flags}" \
  -DNM_BUILD_FUZZ=ON -DNM_BUILD_TESTS=OFF -DNM_BUILD_BENCH=OFF -DNM_WERROR=OFF
cmake --build "${build}" -j"$(nproc)" --target fuzz_decode

mkdir -p "${corpus}" "${artifacts}"
# Seeds: valid frames for every link type, and every crasher found so far.
for dir in seeds regressions; do
  if compgen -G "${root}/fuzz/${dir}/*" > /dev/null; then
    cp -n "${root}/fuzz/${dir}/"* "${corpus}/"
  fi
done

"${build}/fuzz/fuzz_decode" "${corpus}" \
  -dict="${root}/fuzz/decode.dict" \
  -max_total_time="${seconds}" \
  -timeout=10 \
  -artifact_prefix="${artifacts}/" \
  -print_final_stats=1
