# shellcheck shell=bash
# Reads .ci/packages, the one list of Debian packages, for tests/run and contrib/try.

# ci_packages GROUP...: prints the packages of each group, one per line; fails on a group the
# list does not have, so that a misspelt name cannot install nothing in silence.
ci_packages() {
	local list group line want found
	list="$(dirname "${BASH_SOURCE[0]}")/packages"
	[ -r "$list" ] || { echo "ci_packages: cannot read $list" >&2; return 1; }
	for want in "$@"; do
		found=0 group=
		while IFS= read -r line || [ -n "$line" ]; do
			line=${line%%#*}
			line=${line//[[:space:]]/}
			case $line in
			'') ;;
			\[*\]) group=${line:1:${#line}-2}; [ "$group" = "$want" ] && found=1 ;;
			*) [ "$group" = "$want" ] && printf '%s\n' "$line" ;;
			esac
		done <"$list"
		[ "$found" = 1 ] || { echo "ci_packages: no group [$want] in $list" >&2; return 1; }
	done
}

# ci_missing PACKAGE...: prints those that dpkg does not have installed.
ci_missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			printf '%s\n' "$p"
	done
}
