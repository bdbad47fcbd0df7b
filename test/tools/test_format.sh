#!/bin/sh
# Every C file is as clang-format lays it out with the tree's .clang-format,
# so that a reformat never hides a change in review.
#   test_format.sh SRCROOT
set -u
root=$1
command -v clang-format >/dev/null 2>&1 || { echo "no clang-format"; exit 77; }
cd "$root" || exit 1
files=$(find src include tools test bench guest -name '*.[ch]' | sort)
[ -n "$files" ] || { echo "FAIL: no C files under $root"; exit 1; }
bad=0
for f in $files; do
	if ! clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "FAIL $f: not clang-formatted (run clang-format -i $f)"
		bad=$((bad + 1))
	fi
done
echo "$(echo "$files" | wc -l) files, $bad not formatted"
[ "$bad" -eq 0 ]
