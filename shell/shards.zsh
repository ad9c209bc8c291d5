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

# The prompt hook (precmd): does nothing unless the directory changed.
_shards_hook() {
  emulate -L zsh
  [[ $PWD != "${_shards_pwd-}" ]] || return 0
  _shards_reload
}

# The cd hook (chpwd): re-reads at once, so `cd dir && npm run dev` gets dir's ports.
_shards_chpwd() {
  emulate -L zsh
  _shards_reload
}

# Reads the environment of the worktree holding $PWD (none outside one) and applies it.
_shards_reload() {
  emulate -L zsh
  typeset -g _shards_pwd=$PWD
  local _shards_gitdir=
  local -a _shards_entries
  if _shards_find_gitdir "$PWD"; then _shards_read "$_shards_gitdir/shards.env"; fi
  _shards_apply
}

# Walks up from $1 to the nearest .git; sets _shards_gitdir. Returns 1 outside a worktree.
_shards_find_gitdir() {
  emulate -L zsh
  local dir=$1 line
  while :; do
    if [[ -d $dir/.git ]]; then
      _shards_gitdir=$dir/.git
      return 0
    fi
    if [[ -f $dir/.git ]]; then
      # A linked worktree (or submodule): "gitdir: <path>", relative to this directory.
      line=
      IFS= read -r -d '' line <"$dir/.git" || :
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

# Appends the valid KEY=VALUE lines of the file $1 to _shards_entries; ignores the rest.
_shards_read() {
  emulate -L zsh
  local line key value
  [[ -f $1 && -r $1 ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line == *=* ]] || continue
    key=${line%%=*} value=${line#*=}
    if _shards_valid "$key" "$value"; then _shards_entries+=("$key=$value"); fi
  done <"$1"
  return 0
}

# Is $1 a key shards may set? ^(SHARD_[A-Z0-9_]+|PORT)$
_shards_valid_key() {
  emulate -L zsh
  case $1 in
  PORT) return 0 ;;
  SHARD_?*) [[ ${1#SHARD_} != *[^ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_]* ]] ;;
  *) return 1 ;;
  esac
}

# Is $1=$2 valid data? Values are 1-5 digits; SHARD_ROOT's is an absolute path.
_shards_valid() {
  emulate -L zsh
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
  emulate -L zsh
  local entry key keys=' '
  for entry in "${_shards_entries[@]}"; do
    key=${entry%%=*}
    [[ $keys == *" $key "* ]] || keys+="$key "
  done
  for key in ${(s: :)_SHARDS_KEYS-}; do
    if [[ $keys != *" $key "* ]] && _shards_valid_key "$key"; then _shards_restore "$key"; fi
  done
  for key in ${(s: :)keys}; do
    [[ " ${_SHARDS_KEYS-} " == *" $key "* ]] || _shards_save "$key"
  done
  for entry in "${_shards_entries[@]}"; do
    export "${entry%%=*}=${entry#*=}" 2>/dev/null
  done
  keys=${keys# } keys=${keys% }
  if [[ -n $keys ]]; then export _SHARDS_KEYS="$keys"; else unset _SHARDS_KEYS; fi
  return 0
}

# Remembers what $1 holds now, or that it is unset, in _SHARDS_OLD_$1.
_shards_save() {
  emulate -L zsh
  if (( ${(P)+1} )); then
    export "_SHARDS_OLD_$1=${(P)1}"
  else
    unset "_SHARDS_OLD_$1"
  fi
}

# Puts back what $1 held before shards set it.
_shards_restore() {
  emulate -L zsh
  local old=_SHARDS_OLD_$1
  if (( ${(P)+old} )); then
    export "$1=${(P)old}" 2>/dev/null
  else
    unset "$1" 2>/dev/null
  fi
  unset "$old"
}

# Tells `shards doctor` (and a curious user) that the integration is loaded in this shell.
export SHARDS_SHELL=zsh
autoload -Uz add-zsh-hook
add-zsh-hook chpwd _shards_chpwd
add-zsh-hook precmd _shards_hook
