#!/usr/bin/env bash
# The README's two set-up commands (run as root on Debian 12):
#   bash packaging/dev.sh run    install what is missing, build, run the daemon in the
#                                foreground with conf/authmilter.conf
#   bash packaging/dev.sh test   install what is missing (with test tools), build, and run
#                                every test: once on the release build, once under
#                                AddressSanitizer + UndefinedBehaviorSanitizer
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)

build() {  # build DIR [cmake args...]
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
}

case "${1:-}" in
  run)
    bash packaging/install-deps.sh
    build build -DAUTHMILTER_TESTS=OFF
    exec build/authmilter -f -c conf/authmilter.conf
    ;;
  test)
    bash packaging/install-deps.sh --test
    build build
    ctest --test-dir build --output-on-failure --timeout 600
    build build-asan -DAUTHMILTER_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-asan --output-on-failure --timeout 900
    ;;
  *)
    echo "usage: bash packaging/dev.sh run|test" >&2
    exit 2
    ;;
esac
