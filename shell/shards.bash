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
  if shopt -q nocasematch; then nocase=1; shopt -u nocasematch; fi
  if [[ $PWD != "${_shards_pwd-}" || ${OLDPWD-} != "${_shards_oldpwd-}" ]]; then
    _shards_pwd=$PWD _shards_oldpwd=${OLDPWD-}
    _shards_reload
  fi
  if [[ -n $nocase ]]; then shopt -s nocasematch; fi
  return "$status"
}

# Reads the environment of the worktree holding $PWD (none outside one) and applies it.
_shards_reload() {
  local _shards_gitdir= _shards_entries=()
  if _shards_find_gitdir "$PWD"; then _shards_read "$_shards_gitdir/shards.env"; fi
  _shards_apply
}

# Walks up from $1 to the nearest .git; sets _shards_gitdir. Returns 1 outside a worktree.
_shards_find_gitdir() {
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
_shards_apply() {
  local entry key keys=' ' rest=${_SHARDS_KEYS-}
  for entry in ${_shards_entries[@]+"${_shards_entries[@]}"}; do
    key=${entry%%=*}
    [[ $keys == *" $key "* ]] || keys+="$key "
  done
  while [[ -n $rest ]]; do
    key=${rest%% *}; rest=${rest#"$key"}; rest=${rest# }
    if [[ -n $key && $keys != *" $key "* ]] && _shards_valid_key "$key"; then _shards_restore "$key"; fi
  done
  rest=${keys# }
  while [[ -n $rest ]]; do
    key=${rest%% *}; rest=${rest#"$key"}; rest=${rest# }
    [[ " ${_SHARDS_KEYS-} " == *" $key "* ]] || _shards_save "$key"
  done
  for entry in ${_shards_entries[@]+"${_shards_entries[@]}"}; do
    export "${entry%%=*}=${entry#*=}" 2>/dev/null
  done
  keys=${keys# } keys=${keys% }
  if [[ -n $keys ]]; then export _SHARDS_KEYS="$keys"; else unset -v _SHARDS_KEYS; fi
  return 0
}

# Remembers what $1 holds now, or that it is unset, in _SHARDS_OLD_$1.
_shards_save() {
  if [[ -n ${!1+set} ]]; then
    export "_SHARDS_OLD_$1=${!1}"
  else
    unset -v "_SHARDS_OLD_$1"
  fi
}

# Puts back what $1 held before shards set it.
_shards_restore() {
  local old=_SHARDS_OLD_$1
  if [[ -n ${!old+set} ]]; then
    export "$1=${!old}" 2>/dev/null
  else
    unset -v "$1" 2>/dev/null
  fi
  unset -v "$old"
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
