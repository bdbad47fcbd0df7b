#!/bin/sh
# The systemd unit that meson generates must pass systemd-analyze verify
# (issue 3). ExecStart points at the install prefix, which a build tree
# does not have, so the check runs on a copy that names the built binary.
#   test_unit.sh UNIT MDAEMON
set -u
command -v systemd-analyze >/dev/null || { echo "no systemd-analyze: skipped"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mdaemon=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
sed "s#^ExecStart=[^ ]*#ExecStart=$mdaemon#" "$1" >"$tmp/mdaemon.service"
grep -q '^Type=notify$' "$tmp/mdaemon.service" || { echo "not Type=notify"; exit 1; }
grep -q "^ExecStart=$mdaemon -f" "$tmp/mdaemon.service" || { echo "ExecStart does not run mdaemon -f"; exit 1; }
# verify exits 0 on many problems it only warns about: any output fails.
out=$(systemd-analyze verify "$tmp/mdaemon.service" 2>&1)
rc=$?
[ $rc = 0 ] && [ -z "$out" ] && { echo "ok: unit verified"; exit 0; }
echo "systemd-analyze verify (exit $rc):"
echo "$out"
exit 1
