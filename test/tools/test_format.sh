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
# one clang-format for all files; it names each file that would change
# shellcheck disable=SC2086
bad=$(clang-format --style=file --dry-run $files 2>&1 |
    sed -n 's/^\([^ :]*\.[ch]\):[0-9]*:[0-9]*: warning: .*/\1/p' | sort -u)
for f in $bad; do
	echo "FAIL $f: not clang-formatted (run clang-format -i $f)"
done
echo "$(echo "$files" | wc -l) files, $(echo $bad | wc -w) not formatted"
[ -z "$bad" ]
