#!/bin/sh
# Every tool answers --version and --help, and every option its --help
# shows is in its man page.
#   test_man.sh MANDIR TOOL... (each TOOL a path; its page is NAME.1 or .8)
set -u
mandir=$1
shift
fails=0
for tool in "$@"; do
	name=$(basename "$tool")
	page=$(ls "$mandir/$name".[18] 2>/dev/null | head -1)
	if [ -z "$page" ]; then
		echo "FAIL $name: no man page"; fails=$((fails + 1)); continue
	fi
	v=$("$tool" --version)
	case $v in "$name (mzero) "[0-9]*) echo "ok $name --version" ;;
	*) echo "FAIL $name --version: $v"; fails=$((fails + 1)) ;; esac
	help=$("$tool" --help) || { echo "FAIL $name --help: status $?"; fails=$((fails + 1)); }
	# The page as text: roff's \- is -, font changes go.
	text=$(sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$page")
	opts=$(printf '%s\n' "$help" | grep -oE '(^|[ [,])--?[A-Za-z][A-Za-z-]*' |
	    sed 's/^[ [,]//' | sort -u)
	[ -n "$opts" ] || { echo "FAIL $name: no options in --help"; fails=$((fails + 1)); }
	for o in $opts; do
		if printf '%s\n' "$text" | grep -qE -- "(^|[^A-Za-z-])$o([^A-Za-z-]|\$)"; then
			:
		else
			echo "FAIL $name: $o in --help, not in $(basename "$page")"
			fails=$((fails + 1))
		fi
	done
	echo "ok $name: $(echo $opts | wc -w) options checked"
done
[ $fails = 0 ]
