#!/usr/bin/env bash
# The README's two set-up commands (run as root on Debian 12):
#   bash packaging/dev.sh run    install what is missing, build, run the daemon in the
#                                foreground with conf/authmilter.conf
#   bash packaging/dev.sh deb    build the Debian package authmilter_<version>_<arch>.deb
#                                (in build-deb/; README "Installing the package")
#   bash packaging/dev.sh test   install what is missing (with test tools), build, and run
#                                every test: once on the release build, once under
#                                AddressSanitizer + UndefinedBehaviorSanitizer, and the
#                                threaded parts under ThreadSanitizer; from a copy of the
#                                checkout alone in a temporary directory (below)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
launcher=()  # unchanged files compile from the cache when ccache is there
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

# --- The repository tests itself (issue 10 §1) -------------------------------------------
# `test` runs from a copy of the checkout (tracked and untracked-but-not-ignored files, so
# uncommitted work is tested too) alone in ${AUTHMILTER_CI_DIR:-${TMPDIR:-/tmp}/authmilter-ci}:
# a test that reads a file beside or above the checkout finds nothing there and fails. The
# copy's build*/ directories survive between runs, so a rerun only rebuilds what changed.
ci_dir=${AUTHMILTER_CI_DIR:-${TMPDIR:-/tmp}/authmilter-ci}

# Fails when a file of the repository names a path outside it (the old shared data dir beside
# the checkout), untracked files included.
check_self_contained() {
  local word=shared
  local pattern="\\.\\./${word}|/${word}/|${word^^}_DIR"
  local found
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    found=$(git grep --untracked -nIE "$pattern" || true)
  else
    found=$(grep -rnIE --exclude-dir=.git --exclude-dir='build*' "$pattern" . || true)
  fi
  if [ -n "$found" ]; then
    printf '%s\n' "$found" >&2
    echo "dev.sh: the repository refers to paths outside it (above); copy the data into tests/data" >&2
    exit 1
  fi
}

# Copies the checkout to $ci_dir/authmilter (keeping its build*/ dirs) and cd's there.
enter_clean_copy() {
  local copy=$ci_dir/authmilter
  mkdir -p "$copy"
  exec 9>"$ci_dir/.lock"
  flock 9  # one test run at a time in this directory
  # Only the copy may live in $ci_dir; the copy keeps nothing but its build dirs.
  find "$ci_dir" -mindepth 1 -maxdepth 1 ! -name authmilter ! -name .lock -exec rm -rf {} +
  find "$copy" -mindepth 1 -maxdepth 1 ! -name 'build*' -exec rm -rf {} +
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z -co --exclude-standard |
      while IFS= read -r -d '' f; do
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi  # skip deleted files
      done |
      tar --null -T - -cf - | tar -xf - -C "$copy"  # tar keeps mtimes: no needless rebuilds
  else
    tar --exclude='./build*' -cf - . | tar -xf - -C "$copy"
  fi
  echo "dev.sh: testing the copy in $copy"
  cd "$copy"
}
# ------------------------------------------------------------------------------------------

# --- Debian package (issue 16) -----------------------------------------------------------
# A copy of the sources in ${AUTHMILTER_DEB_DIR:-build-deb}/src gets packaging/debian/ as its
# debian/ (and the systemd units of packaging/ as debian/authmilter.service and
# debian/authmilter.authmilter-report.{service,timer}), then debhelper
# builds the package (debian/rules build + binary, as dpkg-buildpackage -b would, minus the
# .changes and .buildinfo an upload needs); the .deb lands in that directory. The copy keeps
# the sources' mtimes and its CMake tree (obj-*) between runs, so a rebuild compiles only what
# changed; ccache, when present, serves the rest.
deb_package() {
  local out=${AUTHMILTER_DEB_DIR:-$PWD/build-deb}
  local src=$out/src
  mkdir -p "$src"
  find "$src" -mindepth 1 -maxdepth 1 ! -name 'obj-*' -exec rm -rf {} +
  if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git ls-files -z -co --exclude-standard |
      while IFS= read -r -d '' f; do
        if [ -e "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
      done |
      tar --null -T - -cf - | tar -xf - -C "$src"
  else
    tar --exclude='./build*' --exclude=./.git -cf - . | tar -xf - -C "$src"
  fi
  cp -a packaging/debian "$src/debian"
  cp packaging/authmilter.service "$src/debian/authmilter.service"
  cp packaging/authmilter-report.service "$src/debian/authmilter.authmilter-report.service"
  cp packaging/authmilter-report.timer "$src/debian/authmilter.authmilter-report.timer"
  rm -f "$out"/authmilter_*.deb
  (
    cd "$src"
    dpkg-checkbuilddeps
    export AUTHMILTER_DEB_OUT=$out AUTHMILTER_DEB_CMAKE_ARGS="${launcher[*]}"
    export DEB_BUILD_OPTIONS="parallel=$jobs ${DEB_BUILD_OPTIONS:-}"
    debian/rules build
    debian/rules binary
  )
  ls "$out"/authmilter_*.deb
}
# --- end Debian package ----------------------------------------------------------------------

build() {  # build DIR [cmake args...]
  local dir=$1
  shift
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
}

# --- ThreadSanitizer (issue 11) -----------------------------------------------------------
# The code that runs on several threads (work/ pool, dns/ resolver, spf/ engine, milter/
# Transaction, the DMARC report writer, the daemon's start and stop) built with
# -fsanitize=thread, at -O1: the work, dns, spf, milter and report unit tests, then the daemon
# itself under the integration tests (Postfix + DNS) and the daemon process tests (SIGTERM
# with messages in flight).
# libmilter is not instrumented: ignore_noninstrumented_modules keeps its own calls from
# reporting (our code called from its threads is still checked), and tests/tsan.supp names
# the faults of its shutdown that remain (see docs/DESIGN-NOTES.md "Threads").
tsan_tests() {
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-O1 -DCMAKE_CXX_FLAGS=-O1 \
    "${launcher[@]}" -DAUTHMILTER_TSAN=ON >/dev/null
  cmake --build build-tsan -j"$jobs" --target work_tests dns_tests spf_tests milter_tests \
    report_tests authmilter integration_tests daemon_process_tests
  # Exported: the daemon the integration tests start inherits it, so a report fails its exit.
  export TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 history_size=4 ignore_noninstrumented_modules=1 suppressions=$PWD/tests/tsan.supp"
  local module
  for module in work dns spf milter report; do
    (cd build-tsan && "./${module}_tests" --gtest_brief=1)
  done
  (cd build-tsan && ./tests/integration/integration_tests --gtest_brief=1)
  (cd build-tsan && ./tests/daemon/daemon_process_tests --gtest_brief=1)
  unset TSAN_OPTIONS
}
# --- end ThreadSanitizer -------------------------------------------------------------------

case "${1:-}" in
  run)
    bash packaging/install-deps.sh
    build build -DAUTHMILTER_TESTS=OFF
    exec build/authmilter -f -c conf/authmilter.conf
    ;;
  deb)
    bash packaging/install-deps.sh --deb
    deb_package
    ;;
  test)
    bash packaging/install-deps.sh --test
    check_self_contained
    enter_clean_copy
    build build
    ctest --test-dir build --output-on-failure --timeout 600
    build build-asan -DAUTHMILTER_SANITIZE=ON
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --test-dir build-asan --output-on-failure --timeout 900
    # clang: its warnings, and its left-to-right order of evaluating a call's arguments, which
    # gcc's right-to-left order once hid (an iprev comment built from a moved-from result).
    build build-clang -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
    ctest --test-dir build-clang -L "unit|conformance|golden|fuzz-regression" \
      --output-on-failure --timeout 600
    tsan_tests
    ;;
  *)
    echo "usage: bash packaging/dev.sh run|deb|test" >&2
    exit 2
    ;;
esac
