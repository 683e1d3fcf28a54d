#!/bin/sh
# install-deps.sh — install what authmilter needs to build and run (Debian 12 "bookworm").
#
# Usage: packaging/install-deps.sh [--test] [--bench] [--deb] [--user] [--dry-run]
#   --test     also install what the tests need: Postfix and NSD for the integration tests
#              (tests/integration), python3-dkim and python3-authres for their ARC leg (an
#              independent sealer and verifier), yaml-cpp for the conformance suites,
#              clang-format, the package tools of --deb (tests/packaging), and fetch (never
#              install) Sendmail's .debs for tests/sendmail into
#              /var/cache/authmilter-tests/sendmail.
#   --bench    also install what tests/bench/compare_milters.py runs beside authmilter:
#              Debian's OpenDKIM and OpenDMARC (the chain it is compared with), NSD (the
#              benchmark zone), the Google Benchmark library (-DAUTHMILTER_BENCH=ON) and
#              perf (--perf). Not part of --test: CI does not run the benchmark.
#   --deb      also install what `dev.sh deb` needs: debhelper, dpkg-dev, fakeroot, lintian.
#   --user     also create the `authmilter` system user and group the systemd unit runs
#              as (adduser --system), and add `postfix` to that group when it exists, so
#              Postfix can use the milter's UNIX socket (mode 0660 with UMask 007).
#   --dry-run  only print what is missing.
#
# Idempotent and non-interactive: asks dpkg which packages are installed and runs
# `apt-get update` + `apt-get install` only when something is missing. Postfix is
# preseeded to "No configuration" so installing it configures and starts nothing (the
# integration tests run their own private instance); services that a package would start
# are held back by a temporary policy-rc.d for the duration of the install.
# Must run as root (or through sudo).
set -eu

BUILD_PACKAGES="build-essential cmake pkg-config libmilter-dev libspf2-dev libopendkim-dev
libc-ares-dev libspdlog-dev libssl-dev libpsl-dev libidn2-dev publicsuffix
libsystemd-dev prometheus-cpp-dev
libgtest-dev libgmock-dev libsqlite3-dev libpq-dev zlib1g-dev"
# The side-by-side benchmark (tests/bench/compare_milters.py); their services are held back
# like the others' below and the benchmark runs its own instances.
BENCH_PACKAGES="opendkim opendmarc nsd libbenchmark-dev linux-perf python3"
DEB_PACKAGES="debhelper dpkg-dev fakeroot lintian"
# m4, liblockfile1, libwrap0: Sendmail's (tests/sendmail); sendmail-bin itself is only
# unpacked by the tests: as a package it conflicts with postfix.
TEST_PACKAGES="postfix nsd libyaml-cpp-dev clang clang-format postgresql libxml2-utils
python3-dkim python3-authres m4 liblockfile1 libwrap0 $DEB_PACKAGES"
# sendmail-bin (and sendmail-cf, its m4 configuration kit) are downloaded, not installed.
SENDMAIL_CACHE=/var/cache/authmilter-tests/sendmail
SENDMAIL_DEBS="sendmail-bin sendmail-cf"

with_test=no
with_deb=no
with_bench=no
with_user=no
dry_run=no
for arg in "$@"; do
    case "$arg" in
        --test) with_test=yes ;;
        --bench) with_bench=yes ;;
        --deb) with_deb=yes ;;
        --user) with_user=yes ;;
        --dry-run) dry_run=yes ;;
        -h|--help)
            sed -n '2,27s/^# \{0,1\}//p' "$0"
            exit 0 ;;
        *)
            echo "install-deps.sh: unknown option: $arg (try --help)" >&2
            exit 2 ;;
    esac
done

packages=$BUILD_PACKAGES
if [ "$with_test" = yes ]; then
    packages="$packages $TEST_PACKAGES"
elif [ "$with_deb" = yes ]; then
    packages="$packages $DEB_PACKAGES"
fi
if [ "$with_bench" = yes ]; then
    packages="$packages $BENCH_PACKAGES"
fi

# Sendmail for tests/sendmail: `apt-get download` into SENDMAIL_CACHE (the tests unpack them
# with dpkg-deb -x and run that tree; nothing is installed). Done once; the tests have no
# network.
fetch_sendmail() {
    missing_debs=""
    for deb in $SENDMAIL_DEBS; do
        if ! ls "$SENDMAIL_CACHE/${deb}"_*.deb >/dev/null 2>&1; then
            missing_debs="$missing_debs $deb"
        fi
    done
    if [ -z "$missing_debs" ]; then
        echo "install-deps.sh: Sendmail .debs present in $SENDMAIL_CACHE"
        return 0
    fi
    if [ "$dry_run" = yes ]; then
        echo "install-deps.sh: would download$missing_debs into $SENDMAIL_CACHE"
        return 0
    fi
    mkdir -p "$SENDMAIL_CACHE"
    # apt's _apt user must be able to write there, or apt warns and downloads as root.
    chown _apt "$SENDMAIL_CACHE" 2>/dev/null || true
    # shellcheck disable=SC2086
    (cd "$SENDMAIL_CACHE" && apt-get download -q $missing_debs) || {
        apt-get update -q && (cd "$SENDMAIL_CACHE" && apt-get download -q $missing_debs)
    }
    echo "install-deps.sh: downloaded$missing_debs into $SENDMAIL_CACHE"
}

# A package counts as installed only in state "install ok installed" (not merely known,
# half-configured or removed with its config files left behind).
missing=""
for pkg in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [ "$status" != "install ok installed" ]; then
        missing="$missing $pkg"
    fi
done

# The service account: a system user without a home or login shell, its own group.
ensure_user() {
    if getent passwd authmilter >/dev/null; then
        echo "install-deps.sh: user authmilter exists"
    elif [ "$dry_run" = yes ]; then
        echo "install-deps.sh: would create system user authmilter"
        return 0
    elif [ "$(id -u)" -ne 0 ]; then
        echo "install-deps.sh: must run as root to create the authmilter user" >&2
        exit 1
    elif command -v adduser >/dev/null; then
        adduser --quiet --system --group --no-create-home --home /nonexistent \
            --shell /usr/sbin/nologin authmilter
    else  # minimal images may lack adduser; useradd is in the required passwd package
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin authmilter
    fi
    if getent passwd postfix >/dev/null && ! id -nG postfix | tr ' ' '\n' | grep -qx authmilter
    then
        if [ "$dry_run" = yes ]; then
            echo "install-deps.sh: would add postfix to group authmilter"
        else
            usermod -a -G authmilter postfix
            echo "install-deps.sh: added postfix to group authmilter"
        fi
    fi
}

if [ -z "$missing" ]; then
    echo "install-deps.sh: all packages present"
    if [ "$with_test" = yes ]; then
        fetch_sendmail
    fi
    if [ "$with_user" = yes ]; then
        ensure_user
    fi
    exit 0
fi
echo "install-deps.sh: missing:$missing"
if [ "$dry_run" = yes ]; then
    if [ "$with_test" = yes ]; then
        fetch_sendmail
    fi
    if [ "$with_user" = yes ]; then
        ensure_user
    fi
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: must run as root to install packages" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Postfix: no main.cf, no running daemon; the admin (or the tests) configure it.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

# Keep packages from starting services during installation (nsd would take port 53 and
# Postfix port 25 on a build machine). Only add our policy when none exists, and remove
# only our own.
policy=/usr/sbin/policy-rc.d
own_policy=no
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# installed by authmilter install-deps.sh\nexit 101\n' > "$policy"
    chmod 755 "$policy"
    own_policy=yes
fi
cleanup() {
    if [ "$own_policy" = yes ]; then
        rm -f "$policy"
    fi
}
trap cleanup EXIT INT TERM

apt-get update -q
# shellcheck disable=SC2086  # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing

echo "install-deps.sh: installed:$missing"
if [ "$with_test" = yes ]; then
    fetch_sendmail
fi
if [ "$with_user" = yes ]; then
    ensure_user
fi
