# bash completion for postbote(1)                              -*- shell-script -*-
# Install as /usr/share/bash-completion/completions/postbote (the Debian package does), or
# source it from ~/.bashrc. Needs nothing from the bash-completion package.
#
# The options are those that `postbote --help` lists, read from the program on the command
# line, so they follow the installed version. Account names are the section names of the
# configuration files that postbote would read (a grep, not a parse: enough to complete).
# Queue ids are those that `postbote -bp` lists, for the same -C and -a as on the line.

# _postbote_options PROGRAM: the options in PROGRAM's --help, one a line. An option is a word
# starting with - in the first column of an indented line (the column ends at two spaces).
_postbote_options() {
	"$1" --help 2>/dev/null |
		sed -n 's/^[[:space:]][[:space:]]*\(-[^[:space:]].*\)$/\1/p' |
		sed 's/  .*//' |
		grep -oE '(^|[ ,])--?[A-Za-z0-9][A-Za-z0-9-]*' | tr -d ' ,'
}

# _postbote_arg OPTION...: the value that follows the last of the OPTIONs on the line, if any
_postbote_arg() {
	local i j value=
	for ((i = 1; i < COMP_CWORD; i++)); do
		for j in "$@"; do
			[ "${COMP_WORDS[i]}" = "$j" ] && value=${COMP_WORDS[i + 1]}
		done
	done
	printf '%s' "${value/#\~/$HOME}"
}

# _postbote_accounts: the account names in the system file and in the file -C,
# POSTBOTE_CONFIG or the user's default names
_postbote_accounts() {
	local user
	user=$(_postbote_arg -C --config)
	[ -n "$user" ] || user=${POSTBOTE_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/postbote/config}
	sed -n 's/^[[:space:]]*\[\([^]]*\)\].*$/\1/p' /etc/postbote.conf \
		/usr/local/etc/postbote.conf "$user" 2>/dev/null | grep -vx defaults | sort -u
}

# _postbote_queue_ids: the ids that PROGRAM -bp lists, with the line's -C and -a
_postbote_queue_ids() {
	local args=() v
	v=$(_postbote_arg -C --config) && [ -n "$v" ] && args+=(-C "$v")
	v=$(_postbote_arg -a --account) && [ -n "$v" ] && args+=(-a "$v")
	timeout 5 "${COMP_WORDS[0]}" "${args[@]}" -bp 2>/dev/null |
		grep -oE '(^|[^0-9])[0-9]{14}\.[0-9a-f]{10}' | grep -oE '[0-9]{14}\.[0-9a-f]{10}' |
		sort -u
}

# _postbote_reply PREFIX WORDS: COMPREPLY is each of WORDS that starts with the current word
# (after PREFIX), with PREFIX put back in front
_postbote_reply() {
	local prefix=$1 cur=${COMP_WORDS[COMP_CWORD]} w
	cur=${cur#"$prefix"}
	while IFS= read -r w; do
		[ -n "$w" ] && COMPREPLY+=("$prefix$w")
	done < <(compgen -W "$2" -- "$cur")
}

_postbote() {
	local cur=${COMP_WORDS[COMP_CWORD]} prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	COMPREPLY=()
	case $prev in
	-C | --config)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		return 0 ;;
	-a | --account) _postbote_reply '' "$(_postbote_accounts)"; return 0 ;;
	-qI | --queue-delete | --queue-hold | --queue-release)
		_postbote_reply '' "$(_postbote_queue_ids)"; return 0 ;;
	-N)	# never, or a list joined by commas
		case $cur in
		*,*) _postbote_reply "${cur%,*}," 'success failure delay' ;;
		*) _postbote_reply '' 'never success failure delay' ;;
		esac
		return 0 ;;
	-R) _postbote_reply '' 'full hdrs'; return 0 ;;
	-B) _postbote_reply '' '7BIT 8BITMIME'; return 0 ;;
	-f | -r | -F | -V | -o | -h | -L | -O | -X) return 0 ;;	# free text
	esac
	case $cur in
	-qI?*) _postbote_reply -qI "$(_postbote_queue_ids)" ;;
	-*) _postbote_reply '' "$(_postbote_options "${COMP_WORDS[0]}")" ;;
	esac
	return 0
}
complete -F _postbote postbote
