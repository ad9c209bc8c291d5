# shards: export the worktree's ports on cd (zsh).
#
#   eval "$(shards hook zsh)"         # in ~/.zshrc
#
# On cd (chpwd), and before each prompt whose $PWD differs from the last one (precmd), the
# hook walks up from $PWD to the nearest `.git` (a directory, or a file `gitdir: <path>`),
# reads `<git dir>/shards.env` line by line as data and exports its SHARD_* (and PORT)
# variables. What a variable held before shards first set it (or that it was unset) is
# kept in _SHARDS_OLD_<KEY>, the keys shards set in _SHARDS_KEYS (both exported, so a shell
# started from here restores them too); leaving the worktree puts those values back.
#
# The prompt path starts no process: only builtins, parameter expansion and `read`; no
# command substitution, no subshell, no eval; nothing in shards.env is ever executed.
# shards.env is re-read only when the directory changed; `cd .` re-reads it.
# Sourcing this file twice installs the hooks once (add-zsh-hook keeps one of each).

# _shards_chpwd sets zsh's own options for everything it calls (emulate -L), so that a
# user's setopt (KSH_ARRAYS, SH_WORD_SPLIT, ...) cannot change what the rest means.

# The prompt hook (precmd): does nothing unless the directory changed.
_shards_hook() {
  [[ $PWD != "${_shards_pwd-}" ]] || return 0
  _shards_chpwd
}

# The cd hook (chpwd), and the reload: reads the environment of the worktree holding $PWD
# (none outside one) and applies it at once, so `cd dir && npm run dev` gets dir's ports.
_shards_chpwd() {
  emulate -L zsh
  typeset -g _shards_pwd=$PWD
  local _shards_gitdir= data= REPLY=
  local -a _shards_entries
  if _shards_find_gitdir "$PWD" && [[ -f $_shards_gitdir/shards.env && -r $_shards_gitdir/shards.env ]]; then
    # One read(2) with zsh/system's sysread; zsh's own `read` takes a system call a byte.
    if (( _shards_sysread )); then sysread -s 65536 data <"$_shards_gitdir/shards.env"; else _shards_slurp "$_shards_gitdir/shards.env"; data=$REPLY; fi
  fi
  # The same file as the one applied last (a cd within one worktree): nothing to do. Each
  # worktree's file names its own SHARD_ROOT, so two worktrees never look the same.
  if [[ -n ${_shards_applied+set} && $data == "$_shards_applied" ]]; then return 0; fi
  _shards_parse "$data"
  _shards_apply
  typeset -g _shards_applied=$data
}

# Reads the whole file $1 into REPLY: one read(2) with zsh/system's sysread, where zsh's
# own `read` would take one system call a byte.
_shards_slurp() {
  REPLY=
  if (( _shards_sysread )); then sysread -s 65536 REPLY <"$1"; else IFS= read -r -d '' REPLY <"$1"; fi
  return 0
}

# Walks up from $1 to the nearest .git; sets _shards_gitdir. Returns 1 outside a worktree.
_shards_find_gitdir() {
  local dir=$1 line
  while :; do
    # One stat for the common case of a directory with no .git at all.
    if [[ ! -e $dir/.git ]]; then
      :
    elif [[ -d $dir/.git ]]; then
      _shards_gitdir=$dir/.git
      return 0
    elif [[ -f $dir/.git ]]; then
      # A linked worktree (or submodule): "gitdir: <path>", relative to this directory.
      _shards_slurp "$dir/.git"
      line=$REPLY
      while [[ $line == *$'\n' || $line == *$'\r' ]]; do line=${line%?}; done
      [[ $line == 'gitdir: '?* ]] || return 1
      line=${line#'gitdir: '}
      [[ $line == /* ]] || line=$dir/$line
      _shards_gitdir=$line
      return 0
    fi
    [[ -n $dir ]] || return 1
    dir=${dir%/*}
  done
}

# Appends the valid KEY=VALUE lines of the text $1 (shards.env) to _shards_entries; ignores the rest.
_shards_parse() {
  local line key value
  for line in "${(@f)1}"; do
    [[ $line == *=* ]] || continue
    key=${line%%=*} value=${line#*=}
    if _shards_valid "$key" "$value"; then _shards_entries+=("$key=$value"); fi
  done
  return 0
}

# Is $1 a key shards may set? ^(SHARD_[A-Z0-9_]+|PORT)$
_shards_valid_key() {
  case $1 in
  PORT) return 0 ;;
  SHARD_?*) [[ ${1#SHARD_} != *[^ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_]* ]] ;;
  *) return 1 ;;
  esac
}

# Is $1=$2 valid data? Values are 1-5 digits; SHARD_ROOT's is an absolute path.
_shards_valid() {
  _shards_valid_key "$1" || return 1
  if [[ $1 == SHARD_ROOT ]]; then
    [[ $2 == /* ]]
  else
    [[ -n $2 && ${#2} -le 5 && $2 != *[^0123456789]* ]]
  fi
}

# Makes the environment hold _shards_entries: puts back the keys set before that are not
# in it, remembers what the new keys held, exports them, and records the keys set.
_shards_apply() {
  local entry key old keys=' '
  for entry in "${_shards_entries[@]}"; do
    key=${entry%%=*}
    [[ $keys == *" $key "* ]] || keys+="$key "
  done
  # _SHARDS_KEYS comes from the environment: only our own names are ever put back.
  for key in ${(s: :)_SHARDS_KEYS-}; do
    case $key in PORT | SHARD_?*) ;; *) continue ;; esac
    [[ $keys != *" $key "* ]] || continue
    old=_SHARDS_OLD_$key
    if (( ${(P)+old} )); then export "$key=${(P)old}"; else unset "$key"; fi
    unset "$old"
  done
  # What the new keys held before shards, or that they were unset.
  for key in ${(s: :)keys}; do
    [[ " ${_SHARDS_KEYS-} " != *" $key "* ]] || continue
    old=_SHARDS_OLD_$key
    if (( ${(P)+key} )); then export "$old=${(P)key}"; else unset "$old"; fi
  done
  for entry in "${_shards_entries[@]}"; do export "$entry"; done
  keys=${keys# } keys=${keys% }
  if [[ -n $keys ]]; then export _SHARDS_KEYS="$keys"; else unset _SHARDS_KEYS; fi
  return 0
}

# Tells `shards doctor` (and a curious user) that the integration is loaded in this shell.
export SHARDS_SHELL=zsh
typeset -gi _shards_sysread=0
zmodload zsh/system 2>/dev/null && _shards_sysread=1
autoload -Uz add-zsh-hook
add-zsh-hook chpwd _shards_chpwd
add-zsh-hook precmd _shards_hook
