#!/usr/bin/env python3
"""Sums meson test logs and fuzz results into one closing line.

A skipped test counts as a failure on a machine that has everything the
suite's tests skip for (/dev/kvm, network namespaces, systemd-analyze):
there a skip can only mean a test that stopped testing.
"""
import json
import os
import shutil
import subprocess
import sys


def can_skip():
    """Why a skip is acceptable here, or None when nothing is missing."""
    missing = []
    try:
        os.close(os.open("/dev/kvm", os.O_RDWR))
    except OSError:
        missing.append("/dev/kvm")
    if not shutil.which("systemd-analyze"):
        missing.append("systemd-analyze")
    ns = "mzero-skipcheck-%d" % os.getpid()
    try:
        ok = subprocess.run(["ip", "netns", "add", ns],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    except OSError:
        ok = False
    if not ok:
        missing.append("netns")
    return ", ".join(missing) or None


passed = failed = skipped = 0
for arg in sys.argv[1:]:
    log = os.path.join(arg, "meson-logs", "testlog.json")
    if os.path.isdir(arg):
        if not os.path.exists(log):
            print(f"{arg}: no test log")
            failed += 1
            continue
        flavour = os.path.basename(arg)
        for line in open(log):
            r = json.loads(line)
            res = r.get("result")
            if res in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif res == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"FAILED [{flavour}] {r.get('name')}: {res}")
    elif os.path.exists(arg):
        for line in open(arg):
            name, res = line.split()
            if res == "OK":
                passed += 1
            else:
                failed += 1
                print(f"FAILED [fuzz] {name}")
if skipped:
    why = can_skip()
    if why is None:
        print(f"{skipped} skipped on a machine that lacks nothing: failed")
        failed += skipped
    else:
        print(f"{skipped} skipped (this machine lacks {why})")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
