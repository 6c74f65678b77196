#!/usr/bin/env bash
# Sanitizers and fuzzing (docs/reliability.md).
#   scripts/sanitize.sh fuzz [SECONDS]   libFuzzer (Debian clang, ASan+UBSan) on the config-file
#                                        reader and the readers' JSON layer, SECONDS each (default 60)
#   scripts/sanitize.sh tests [REGEX]    ASan+UBSan build (build-asan/) of the test suite, then ctest
#                                        -R REGEX (default: the reliability, config, ingest and
#                                        checkpoint tests). A full build takes long on few cores.
# Crashes found by the fuzzer are saved under build-fuzz/<target>-crashes/; each one becomes a test.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
mode="${1:-fuzz}"

fuzz() {
  local seconds="${1:-60}"
  local out="$ROOT/build-fuzz"
  mkdir -p "$out"
  local flags=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
               -I"$ROOT")
  clang++ "${flags[@]}" -o "$out/fuzz_ini" tests/fuzz/fuzz_ini.cpp core/common/ini.cpp \
    core/common/strings.cpp core/common/log.cpp -lfmt
  clang++ "${flags[@]}" -o "$out/fuzz_json_file" tests/fuzz/fuzz_json_file.cpp \
    data_pipeline/readers/json_file.cpp core/common/log.cpp -lfmt
  for target in fuzz_ini fuzz_json_file; do
    mkdir -p "$out/$target-corpus" "$out/$target-crashes"
    case $target in
      fuzz_ini) cp configs/*.ini "$out/$target-corpus/" 2>/dev/null || true ;;
      fuzz_json_file) printf '{"u1": ["a", "b"], "u2": ["c"]}' > "$out/$target-corpus/seed.json" ;;
    esac
    echo "== $target for ${seconds}s"
    "$out/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$out/$target-crashes/" "$out/$target-corpus"
  done
}

tests() {
  local regex="${1:-test_reliability|test_long_phase|test_config|test_ingest_errors|test_dist_checkpoint}"
  export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=true
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGENSAR_BUILD_BENCH=OFF \
    -DCMAKE_CXX_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined"
  local targets
  targets=$(echo "$regex" | tr '|' ' ')
  # shellcheck disable=SC2086
  ninja -C build-asan -j"${JOBS:-1}" $targets gensar
  # LibTorch and OpenMPI are not instrumented: leaks inside them are not ours.
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -j1 -R "$regex" --output-on-failure
}

case "$mode" in
  fuzz) fuzz "${2:-60}" ;;
  tests) tests "${2:-}" ;;
  *) echo "usage: $0 fuzz [SECONDS] | tests [REGEX]" >&2; exit 2 ;;
esac
