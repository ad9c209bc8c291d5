# shards: export the worktree's ports on cd (bash).
#
#   eval "$(shards hook bash)"        # in ~/.bashrc
#
# Before each prompt whose $PWD (or $OLDPWD) differs from the last one, the hook walks up
# from $PWD to the nearest `.git` (a directory, or a file `gitdir: <path>`), reads
# `<git dir>/shards.env` line by line as data and exports its SHARD_* (and PORT) variables.
# What a variable held before shards first set it (or that it was unset) is kept in
# _SHARDS_OLD_<KEY>, the keys shards set in _SHARDS_KEYS (both exported, so a shell started
# from here restores them too); leaving the worktree puts those values back.
#
# The prompt path starts no process: only builtins, parameter expansion and `read`; no
# command substitution, no subshell, no eval; nothing in shards.env is ever executed.
# shards.env is re-read only when the directory changed; `cd .` re-reads it too (bash
# sees it by $OLDPWD, so a second `cd .` in a row does not: cd out and back).
# Sourcing this file twice installs the hook once.

# The prompt hook: does nothing unless the directory changed. Keeps $? for the prompt.
_shards_hook() {
  local status=$? nocase=
  # nocasematch would make every [[ == ]] below ignore case; $BASHOPTS is cheaper than shopt.
  if [[ :$BASHOPTS: == *:nocasematch:* ]]; then nocase=1; shopt -u nocasematch; fi
  if [[ $PWD != "${_shards_pwd-}" || ${OLDPWD-} != "${_shards_oldpwd-}" ]]; then
    _shards_pwd=$PWD _shards_oldpwd=${OLDPWD-}
    _shards_reload
  fi
  if [[ -n $nocase ]]; then shopt -s nocasematch; fi
  return "$status"
}

# Reads the environment of the worktree holding $PWD (none outside one) and applies it.
_shards_reload() {
  local _shards_gitdir= _shards_entries=() data=
  if _shards_find_gitdir "$PWD" && [[ -f $_shards_gitdir/shards.env && -r $_shards_gitdir/shards.env ]]; then
    IFS= read -r -d '' data <"$_shards_gitdir/shards.env"
  fi
  # The same file as the one applied last (a cd within one worktree): nothing to do. Each
  # worktree's file names its own SHARD_ROOT, so two worktrees never look the same.
  if [[ -n ${_shards_applied+set} && $data == "$_shards_applied" ]]; then return 0; fi
  _shards_parse "$data"
  _shards_apply
  _shards_applied=$data
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

# Appends the valid KEY=VALUE lines of the text $1 (shards.env) to _shards_entries; ignores the rest.
_shards_parse() {
  local data=$1 line key value
  while [[ -n $data ]]; do
    line=${data%%$'\n'*}
    if [[ $data == *$'\n'* ]]; then data=${data#*$'\n'}; else data=; fi
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
  SHARD_?*) [[ ${1#SHARD_} != *[!ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_]* ]] ;;
  *) return 1 ;;
  esac
}

# Is $1=$2 valid data? Values are 1-5 digits; SHARD_ROOT's is an absolute path.
_shards_valid() {
  _shards_valid_key "$1" || return 1
  if [[ $1 == SHARD_ROOT ]]; then
    [[ $2 == /* ]]
  else
    [[ -n $2 && ${#2} -le 5 && $2 != *[!0123456789]* ]]
  fi
}

# Makes the environment hold _shards_entries: puts back the keys set before that are not
# in it, remembers what the new keys held, exports them, and records the keys set.
# (for loops over space-separated words, not string surgery: this runs on every cd.)
_shards_apply() {
  local entry key old keys=' ' IFS=' '
  for entry in ${_shards_entries[@]+"${_shards_entries[@]}"}; do
    key=${entry%%=*}
    [[ $keys == *" $key "* ]] || keys+="$key "
  done
  # _SHARDS_KEYS comes from the environment: only our own names are put back, and a value
  # that could glob is not split at all.
  if [[ ${_SHARDS_KEYS-} != *[\*\?\[]* ]]; then
    for key in ${_SHARDS_KEYS-}; do
      case $key in PORT | SHARD_?*) ;; *) continue ;; esac
      [[ $keys != *" $key "* ]] || continue
      old=_SHARDS_OLD_$key
      if [[ -n ${!old+set} ]]; then export "$key=${!old}"; else unset -v "$key"; fi
      unset -v "$old"
    done
  fi
  # What the new keys held before shards, or that they were unset.
  for key in $keys; do
    [[ " ${_SHARDS_KEYS-} " != *" $key "* ]] || continue
    old=_SHARDS_OLD_$key
    if [[ -n ${!key+set} ]]; then export "$old=${!key}"; else unset -v "$old"; fi
  done
  for entry in ${_shards_entries[@]+"${_shards_entries[@]}"}; do export "$entry"; done
  keys=${keys# } keys=${keys% }
  if [[ -n $keys ]]; then export _SHARDS_KEYS="$keys"; else unset -v _SHARDS_KEYS; fi
  return 0
}

# Puts _shards_hook first in PROMPT_COMMAND (a string, or an array in bash 5.1+), once.
_shards_install() {
  local entry
  if ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 501)) && [[ -n ${PROMPT_COMMAND+set} && ${PROMPT_COMMAND@a} == *a* ]]; then
    for entry in "${PROMPT_COMMAND[@]}"; do
      [[ $entry != *_shards_hook* ]] || return 0
    done
    PROMPT_COMMAND=(_shards_hook "${PROMPT_COMMAND[@]}")
  else
    [[ ${PROMPT_COMMAND-} != *_shards_hook* ]] || return 0
    PROMPT_COMMAND=_shards_hook${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}
  fi
}

# Tells `shards doctor` (and a curious user) that the integration is loaded in this shell.
export SHARDS_SHELL=bash
_shards_install
