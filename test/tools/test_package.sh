#!/bin/sh
# The Debian package: dpkg-buildpackage -us -uc -b builds it from a copy
# of the source; it holds the binaries, the unit, the conffile
# /etc/mzero/mdaemon.conf, man pages, docs and messengers; the installed
# daemon accepts the installed configuration (mdaemon -n) and the
# installed unit passes systemd-analyze verify.
#
# It is unpacked with dpkg -x into a temporary root rather than installed
# with dpkg -i: installing would change the machine the tests run on
# (enable a unit, own /etc/mzero) and could not run concurrently with
# another build. dpkg -x gives the same files; the unit is verified on a
# copy whose ExecStart names the unpacked binary.
#   test_package.sh SRCDIR
set -u
src=$1
for c in dpkg-buildpackage dh dpkg-deb; do
	command -v $c >/dev/null || { echo "no $c: skipped"; exit 77; }
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mzero-pkg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # name condition-status
	if [ "$2" = 0 ]; then echo "ok $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
mkdir "$tmp/src"
# The committed tree plus the working changes, without build products.
(cd "$src" && git ls-files -z --cached --others --exclude-standard |
    xargs -0 tar cf - --no-recursion) | tar xf - -C "$tmp/src"
(cd "$tmp/src" && dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1)
rc=$?
check "dpkg-buildpackage -us -uc -b" $rc
[ $rc = 0 ] || { tail -n 40 "$tmp/build.log"; exit 1; }
deb=$(ls "$tmp"/mzero_*_amd64.deb | head -1)
dpkg-deb -c "$deb" >"$tmp/contents"
for f in usr/bin/m0 usr/bin/m0inject usr/bin/m0ctl usr/bin/xchgsim \
    usr/sbin/mdaemon etc/mzero/mdaemon.conf \
    usr/share/man/man1/m0.1.gz usr/share/man/man7/m0.7.gz \
    usr/share/man/man8/mdaemon.8.gz usr/share/doc/mzero/reference.md \
    usr/share/doc/mzero/deploy.md usr/share/mzero/messengers/hello.m0; do
	# dh_compress gzips larger docs
	grep -qE " \./$f(\.gz)?\$" "$tmp/contents"
	check "contains /$f" $?
done
unit=$(grep -oE ' \./(usr/)?lib/systemd/system/mdaemon\.service$' "$tmp/contents" |
    sed 's/^ \.\///')
check "contains the unit" $([ -n "$unit" ]; echo $?)
dpkg-deb -I "$deb" conffiles 2>/dev/null | grep -q '^/etc/mzero/mdaemon.conf$'
check "mdaemon.conf is a conffile" $?
dpkg-deb -I "$deb" postinst 2>/dev/null | grep -q 'mdaemon.service'
check "postinst enables the unit" $?

root=$tmp/root
dpkg -x "$deb" "$root"
out=$("$root/usr/sbin/mdaemon" -n -c "$root/etc/mzero/mdaemon.conf")
check "installed mdaemon -n on the installed config" $?
echo "$out"
grep -q '^ExecStart=/usr/sbin/mdaemon -f -c /etc/mzero/mdaemon.conf$' "$root/$unit"
check "the unit runs /usr/sbin/mdaemon on /etc/mzero/mdaemon.conf" $?
grep -q '^state = /var/lib/mzero$' "$root/etc/mzero/mdaemon.conf"
check "the config's state is the unit's StateDirectory" $?
if command -v systemd-analyze >/dev/null; then
	sed "s#^ExecStart=/usr/sbin/mdaemon#ExecStart=$root/usr/sbin/mdaemon#" \
	    "$root/$unit" >"$tmp/mdaemon.service"
	out=$(systemd-analyze verify "$tmp/mdaemon.service" 2>&1)
	rc=$?
	[ -n "$out" ] && echo "$out"
	check "systemd-analyze verify the installed unit" \
	    $([ $rc = 0 ] && [ -z "$out" ]; echo $?)
fi
[ $fails = 0 ]
