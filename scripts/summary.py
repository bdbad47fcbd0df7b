#!/usr/bin/env python3
"""Sums meson test logs and fuzz results into one closing line."""
import json
import os
import sys

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
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
