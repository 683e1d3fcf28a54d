#!/usr/bin/env bash
# package_test.sh SOURCE_DIR WORK_DIR — builds the Debian package with `dev.sh deb` into
# WORK_DIR and checks it (issue 16):
#   - file name and control fields (dpkg-deb -I): name, version from CMakeLists.txt, arch,
#     dependencies, the conffile, the maintainer scripts;
#   - contents (dpkg-deb -c, -x): every file where authmilter(8) FILES and the README say,
#     the binary runs and accepts the shipped configuration, the unit names that binary;
#   - lintian: no error;
#   - postinst's own logic (the debhelper sections left out: they talk to systemd) run for
#     real with "configure": the system user, its group, postfix's membership, the state
#     directory; run twice (idempotent); then postrm "purge" removes them again. When the
#     machine already has an `authmilter` user (install-deps.sh --user), the test checks
#     postinst keeps it and does not purge it.
# Needs root (adduser) and the tools of `install-deps.sh --deb`.
set -euo pipefail
src=$1
work=$2

fail() { echo "package_test: FAIL: $*" >&2; exit 1; }
step() { echo "package_test: $*"; }

[ "$(id -u)" -eq 0 ] || fail "must run as root (it creates and removes the authmilter user)"

version=$(sed -n 's/^project(authmilter VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
[ -n "$version" ] || fail "no project version in CMakeLists.txt"
arch=$(dpkg --print-architecture)

step "building the package (dev.sh deb) in $work"
mkdir -p "$work"
AUTHMILTER_DEB_DIR=$work bash "$src/packaging/dev.sh" deb > "$work/build.log" 2>&1 ||
  { tail -40 "$work/build.log" >&2; fail "dev.sh deb failed (log: $work/build.log)"; }
deb=$work/authmilter_${version}-1_${arch}.deb
[ -f "$deb" ] || fail "expected $deb; found: $(ls "$work")"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/authmilter-pkgtest.XXXXXX")
created_user=no
created_state=no
cleanup() {
  # Undo what a failed run of the maintainer scripts left behind (never a pre-existing user).
  if [ "$created_user" = yes ] && getent passwd authmilter >/dev/null; then
    userdel authmilter >/dev/null 2>&1 || true
  fi
  if [ "$created_user" = yes ] && getent group authmilter >/dev/null; then
    groupdel authmilter >/dev/null 2>&1 || true
  fi
  if [ "$created_state" = yes ]; then rm -rf /var/lib/authmilter; fi
  rm -rf "$scratch"
}
trap cleanup EXIT

# --- control fields -----------------------------------------------------------------------
step "dpkg-deb -I"
info=$(dpkg-deb -I "$deb")
field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = authmilter ] || fail "Package: $(field Package)"
[ "$(field Version)" = "${version}-1" ] || fail "Version: $(field Version), CMake says $version"
[ "$(field Architecture)" = "$arch" ] || fail "Architecture: $(field Architecture)"
[ "$(field Section)" = mail ] || fail "Section: $(field Section)"
depends=$(field Depends)
for dep in adduser publicsuffix libspf2-2 libc-ares2 libpsl5 \
  libidn2-0 libsystemd0 libsqlite3-0 libpq5; do
  grep -qE "(^|, )${dep}( |,|$)" <<<"$depends" || fail "Depends lacks $dep: $depends"
done
# libmilter is linked statically (its signal thread's sigwait is wrapped): no libmilter1.0.1,
# and Built-Using names the sendmail source of the libmilter-dev it was built with.
! grep -qE "(^|, )libmilter" <<<"$depends" || fail "Depends names libmilter: $depends"
milter_source=$(dpkg-query -W -f '${source:Package} (= ${source:Version})' libmilter-dev)
[ "$(field Built-Using)" = "$milter_source" ] ||
  fail "Built-Using: '$(field Built-Using)', expected '$milter_source'"
# DKIM runs on our own OpenSSL code; libopendkim is only the tests' reference (issue 15).
! grep -qE "(^|, )libopendkim" <<<"$depends" || fail "Depends names libopendkim: $depends"
grep -q 'postinst' <<<"$info" || fail "no postinst in the control archive"
grep -q 'postrm' <<<"$info" || fail "no postrm in the control archive"
dpkg-deb -e "$deb" "$scratch/control"
grep -qx '/etc/authmilter/authmilter.conf' "$scratch/control/conffiles" ||
  fail "the configuration is not a conffile: $(cat "$scratch/control/conffiles")"

# --- contents -----------------------------------------------------------------------------
step "dpkg-deb -c"
listing=$(dpkg-deb -c "$deb")
for path in ./usr/sbin/authmilter ./etc/authmilter/authmilter.conf \
  ./lib/systemd/system/authmilter.service ./lib/systemd/system/authmilter-report.service \
  ./lib/systemd/system/authmilter-report.timer ./usr/share/man/man8/authmilter.8.gz \
  ./usr/share/man/man5/authmilter.conf.5.gz ./usr/share/doc/authmilter/copyright \
  ./usr/share/doc/authmilter/changelog.Debian.gz ./usr/share/doc/authmilter/postfix.md.gz \
  ./usr/share/doc/authmilter/sendmail.md.gz; do
  grep -qE " ${path//./\\.}( |$)" <<<"$listing" || fail "$path is not in the package"
done
grep -E ' \./usr/sbin/authmilter$' <<<"$listing" | grep -q '^-rwxr-xr-x root/root' ||
  fail "/usr/sbin/authmilter is not 0755 root:root"
grep -E ' \./etc/authmilter/authmilter\.conf$' <<<"$listing" | grep -q '^-rw-r--r-- root/root' ||
  fail "the configuration is not 0644 root:root"
! grep -qE ' \./(usr/)?(include|lib/lib)' <<<"$listing" || fail "headers or libraries shipped"

step "dpkg-deb -x"
dpkg-deb -x "$deb" "$scratch/root"
root=$scratch/root
"$root/usr/sbin/authmilter" --version | grep -qx "authmilter $version" ||
  fail "the packaged binary does not say version $version"
"$root/usr/sbin/authmilter" --check-config -c "$root/etc/authmilter/authmilter.conf" >/dev/null ||
  fail "the packaged binary refuses the packaged configuration"
cmp -s "$root/etc/authmilter/authmilter.conf" "$src/conf/authmilter.conf" ||
  fail "the packaged configuration is not conf/authmilter.conf"
unit=$root/lib/systemd/system/authmilter.service
grep -q '^ExecStart=/usr/sbin/authmilter .*-c /etc/authmilter/authmilter.conf' "$unit" ||
  fail "the unit does not start /usr/sbin/authmilter with /etc/authmilter/authmilter.conf"
grep -q '^User=authmilter' "$unit" || fail "the unit does not run as user authmilter"
grep -q '^RuntimeDirectory=authmilter' "$unit" || fail "the unit has no RuntimeDirectory"
zcat "$root/usr/share/man/man8/authmilter.8.gz" | grep -q '/var/spool/postfix/authmilter' ||
  fail "authmilter(8) does not document the Postfix chroot socket"
if command -v man >/dev/null; then
  warnings=$(MANWIDTH=80 man --warnings -l "$root/usr/share/man/man8/authmilter.8.gz" 2>&1 >/dev/null || true)
  [ -z "$warnings" ] || fail "authmilter(8) has groff warnings: $warnings"
fi

# --- lintian ------------------------------------------------------------------------------
step "lintian"
if ! lintian --fail-on error --allow-root "$deb" > "$scratch/lintian.txt" 2>&1; then
  cat "$scratch/lintian.txt" >&2
  fail "lintian reports errors"
fi
sed 's/^/  lintian: /' "$scratch/lintian.txt"

# --- maintainer scripts -------------------------------------------------------------------
# Our own part of each script: the sections debhelper added (systemd enable/start/purge) are
# left out, so nothing is enabled or started on the build machine.
own_part() {
  awk '/^# Automatically added by dh_/ {skip = 1} !skip {print} /^# End automatically added section/ {skip = 0}' "$1"
}
own_part "$scratch/control/postinst" > "$scratch/postinst"
own_part "$scratch/control/postrm" > "$scratch/postrm"
grep -q adduser "$scratch/postinst" || fail "postinst does not create the user"

had_user=no
getent passwd authmilter >/dev/null && had_user=yes
had_state=no
[ -e /var/lib/authmilter ] && had_state=yes
[ "$had_user" = yes ] || created_user=yes
[ "$had_state" = yes ] || created_state=yes

step "postinst configure (user existed before: $had_user)"
sh -e "$scratch/postinst" configure || fail "postinst configure failed"
entry=$(getent passwd authmilter) || fail "postinst did not create user authmilter"
IFS=: read -r _ _ uid gid _ home shell <<<"$entry"
[ "$uid" -lt 1000 ] || fail "authmilter is not a system user (uid $uid)"
[ "$(getent group authmilter | cut -d: -f3)" = "$gid" ] || fail "authmilter's group is not its own"
if [ "$had_user" = no ]; then
  [ "$home" = /nonexistent ] || fail "home is $home"
  [ "$shell" = /usr/sbin/nologin ] || fail "shell is $shell"
fi
[ "$(stat -c '%U:%G %a' /var/lib/authmilter)" = "authmilter:authmilter 750" ] ||
  fail "/var/lib/authmilter is $(stat -c '%U:%G %a' /var/lib/authmilter)"
if getent passwd postfix >/dev/null; then
  id -nG postfix | tr ' ' '\n' | grep -qx authmilter || fail "postfix is not in group authmilter"
fi
sh -e "$scratch/postinst" configure || fail "postinst configure is not idempotent"
[ "$(getent passwd authmilter | cut -d: -f3)" = "$uid" ] || fail "a second configure changed the uid"

if [ "$had_user" = no ]; then
  step "postrm purge"
  sh -e "$scratch/postrm" purge || fail "postrm purge failed"
  ! getent passwd authmilter >/dev/null || fail "postrm purge left user authmilter"
  ! getent group authmilter >/dev/null || fail "postrm purge left group authmilter"
  [ ! -e /var/lib/authmilter ] || fail "postrm purge left /var/lib/authmilter"
  if getent passwd postfix >/dev/null; then
    ! id -nG postfix | tr ' ' '\n' | grep -qx authmilter || fail "postfix is still in authmilter"
  fi
  created_user=no
  created_state=no
  sh -e "$scratch/postrm" remove || fail "postrm remove failed"
else
  step "postrm purge skipped: the authmilter user existed before the test"
fi
step "OK: $deb"
