# zcomplete.zsh FPATH-DIR LINE: what zsh's completion system (compinit) offers for LINE, one
# candidate a line, sorted; the functions in FPATH-DIR come first. Used by tests/contrib.bats.
# An interactive zsh in a pseudo-terminal (zsh/zpty) is set up, and once its prompt shows that
# it is ready, gets LINE and a TAB; compadd, wrapped, prints each candidate it is given after a
# marker, and ^O ends the shell. The markers are made at run time, so that the echo of the
# typed commands never contains them. The caller bounds the run with timeout.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "RPROMPT=; unsetopt beep; fpath=(${(q)1} \$fpath); autoload -U compinit; compinit -u -D; \
compadd() { local -a hits; builtin compadd -A hits \"\$@\"; (( \$#hits )) && { local m=HIT; \
print -rl -- \"\${m}:\${^hits[@]}\" }; builtin compadd \"\$@\" }; \
finish() { local m=END; print \"\${m}:\"; exit }; zle -N finish; bindkey '^O' finish; \
PROMPT=\"\${(U):-rdy}> \""
local out
zpty -r z out '*RDY> *' || exit 1
zpty -w z "$2"$'\t\x0f'
zpty -r z out '*END:*' || exit 1
print -r -- $out | grep -aoE 'HIT:[^[:cntrl:] ]*' | sed 's/^HIT://' | sort -u
