@ABOUT@
#if bash direnv

# For shellcheck, `\builtin export` is no export: SC2034 (unused) and SC2163 ("$entry" is
# KEY=VALUE, exported as such) do not apply.
# shellcheck shell=bash disable=SC2034,SC2163
#endif

# Builtins the user may have redefined (an alias, or a function named `read`, `export`,
# `test`...) are called as `\builtin NAME`: the backslash skips aliases, `builtin` skips
# functions.
#if bash

# The prompt hook: does work only when the directory changed; keeps $? for the prompt.
# `test`, not [[ ]]: nocasematch would make [[ == ]] ignore case.
_shards_hook() {
  local status=$?
  if \builtin test "$PWD" != "${_shards_pwd-}" || \builtin test "${OLDPWD-}" != "${_shards_oldpwd-}"; then
    _shards_pwd=$PWD _shards_oldpwd=${OLDPWD-}
    _shards_chpwd
  fi
  return "$status"
}
#elif zsh

# The prompt hook (precmd): does work only when $PWD changed since the last reload.
_shards_hook() {
  [[ $PWD != "${_shards_pwd-}" ]] || return 0
  _shards_chpwd
}
#endif
#if bash zsh

#if bash
# Steps 1-6 for the worktree holding $PWD (none outside one).
#elif zsh
# Steps 1-6 for the worktree holding $PWD (none outside one). The cd hook (chpwd), so
# `cd dir && npm run dev` gets dir's ports.
#endif
_shards_chpwd() {
#if zsh
  \builtin emulate -L zsh
  typeset -g _shards_pwd=$PWD
#endif
  local _shards_gitdir='' _shards_wt='' _shards_data='' _shards_keys=' ' _shards_nocase=''
  local -a _shards_entries
#if bash
  # Patterns in [[ ]] and case below are meant case-sensitive.
  if \builtin shopt -q nocasematch; then _shards_nocase=1; \builtin shopt -u nocasematch; fi
#endif
  if _shards_find_gitdir "$PWD"; then _shards_read "$_shards_gitdir/shards.env"; fi
  # The same file in the same worktree as the one applied last (a cd within a worktree):
  # nothing to do. As the one checked last (back into the worktree just left): its
  # entries are known.
  if [[ $_shards_data != "${_shards_applied-}" || $_shards_wt != "${_shards_applied_wt-}" ]]; then
    if [[ $_shards_data == "${_shards_checked-}" && $_shards_wt == "${_shards_checked_wt-}" ]]; then
      _shards_entries=(${_shards_checked_entries[@]+"${_shards_checked_entries[@]}"})
      _shards_keys=${_shards_checked_keys- }
    elif [[ -n $_shards_data ]]; then
      _shards_check
#if bash
      _shards_checked=$_shards_data _shards_checked_wt=$_shards_wt _shards_checked_keys=$_shards_keys
      _shards_checked_entries=(${_shards_entries[@]+"${_shards_entries[@]}"})
#elif zsh
      typeset -g _shards_checked=$_shards_data _shards_checked_wt=$_shards_wt _shards_checked_keys=$_shards_keys
      typeset -ga _shards_checked_entries=("${_shards_entries[@]}")
#endif
    fi
    _shards_apply
#if bash
    _shards_applied=$_shards_data _shards_applied_wt=$_shards_wt
#elif zsh
    typeset -g _shards_applied=$_shards_data _shards_applied_wt=$_shards_wt
#endif
  fi
#if bash
  if [[ -n $_shards_nocase ]]; then \builtin shopt -s nocasematch; fi
#endif
  return 0
}
#elif direnv

# use shards: exports the ports of the worktree holding the .envrc's directory.
use_shards() {
  local status=0 nocase=
  # Patterns in [[ ]] and case below are meant case-sensitive.
  if \builtin shopt -q nocasematch; then nocase=1; \builtin shopt -u nocasematch; fi
  _shards_use || status=$?
  if [[ -n $nocase ]]; then \builtin shopt -s nocasematch; fi
  return "$status"
}

# Steps 1-3 and the export; direnv does the rest.
_shards_use() {
  local _shards_gitdir='' _shards_wt='' _shards_data='' _shards_keys=' ' entry loaded=1
  local -a _shards_entries=() watch=()
  if ! _shards_find_gitdir "$PWD"; then
    log_error "shards: $PWD is not inside a git worktree"
    return 1
  fi
  _shards_config_files
  _shards_load || loaded=
  # After shards.env may have been written: direnv records the modification times now.
  watch_file "$_shards_gitdir/shards.env" ${watch[@]+"${watch[@]}"}
  [[ -n $loaded ]] || return 1
  for entry in ${_shards_entries[@]+"${_shards_entries[@]}"}; do \builtin export "$entry"; done
  # Tells `shards doctor` that the integration is active here.
  \builtin export SHARDS_SHELL=direnv
}

# Steps 2-3, allocating first when the worktree has no usable shards.env or a config file
# is newer than it. Fails when there is nothing to export and allocating failed.
_shards_load() {
  local file=$_shards_gitdir/shards.env newer='' config
  _shards_read "$file"
  _shards_check
  for config in ${watch[@]+"${watch[@]}"}; do [[ ! $config -nt $file ]] || newer=1; done
  if [[ -n ${_shards_entries[*]-} && -z $newer ]]; then return 0; fi
  if ! _shards_allocate; then
    # What the file holds stays (a config change not applied yet); nothing is a failure.
    if [[ -n ${_shards_entries[*]-} ]]; then return 0; fi
    return 1
  fi
  # shards rewrites shards.env only when its content changes: mark it as up to date, also
  # against a config file whose time is ahead of the clock.
  if [[ -n $newer && -f $file ]]; then
    command touch "$file"
    for config in ${watch[@]+"${watch[@]}"}; do [[ ! $config -nt $file ]] || command touch -r "$config" "$file"; done
  fi
  _shards_data='' _shards_entries=() _shards_keys=' '
  _shards_read "$file"
  _shards_check
}

# Runs `shards allocate` (the CLI on PATH); one error line when it fails.
_shards_allocate() {
  local err
  if ! has shards; then
    log_error "shards: the shards command is not on PATH; cannot allocate ports"
    return 1
  fi
  if ! err=$(shards allocate 2>&1 >/dev/null); then
    err=${err#$'\n'}
    log_error "shards: allocate failed${err:+: ${err%%$'\n'*}}"
    return 1
  fi
}

# The config files shards reads for this worktree (its own top level, the main worktree's,
# ~/.shardsrc), into `watch`: direnv reloads when one changes.
_shards_config_files() {
  local dir name main=
  _shards_main_worktree
  watch=("${XDG_CONFIG_HOME:-$HOME}/.shardsrc")
  for dir in "$_shards_wt" "$main"; do
    [[ -n $dir ]] || continue
    for name in shards.config.json .shardsrc package.json .config/shards.json .config/shards.jsonc; do
      watch+=("$dir/$name")
    done
  done
}

# Sets `main` to the main worktree of a linked one: its git dir's commondir file names the
# common git dir, whose parent is the main worktree when it is named .git.
_shards_main_worktree() {
  local common=
  [[ -f $_shards_gitdir/commondir && -r $_shards_gitdir/commondir ]] || return 0
  IFS= \builtin read -r common <"$_shards_gitdir/commondir" || [[ -n $common ]] || return 0
  [[ $common == /* ]] || common=$_shards_gitdir/$common
  # Without the `..` that git writes (commondir is usually ../..).
  common=$(\builtin cd -- "$common" 2>/dev/null && \builtin pwd) || return 0
  [[ $common == */.git ]] || return 0
  main=${common%/.git}
}
#endif

# Step 1: walks up from $1 to the nearest .git; sets _shards_gitdir, and _shards_wt to the
# directory that holds it. Returns 1 outside a worktree.
_shards_find_gitdir() {
  local dir=$1 line
  # One stat a level for the common case of a directory with no .git at all.
  while [[ ! -e $dir/.git && -n $dir ]]; do dir=${dir%/*}; done
  if [[ -d $dir/.git ]]; then
    _shards_gitdir=$dir/.git _shards_wt=${dir:-/}
    return 0
  fi
  # A linked worktree (or submodule): "gitdir: <path>", relative to this directory.
  [[ -f $dir/.git && -r $dir/.git ]] || return 1
  # The whole file: the path may hold a newline; only the line ends are taken off.
  line=''
#if bash direnv
  IFS= \builtin read -r -d '' line <"$dir/.git" || :
#elif zsh
  _shards_slurp "$dir/.git"
  line=$REPLY
#endif
  while [[ $line == *$'\n' || $line == *$'\r' ]]; do line=${line%?}; done
  [[ $line == 'gitdir: '?* ]] || return 1
  line=${line#'gitdir: '}
  [[ $line == /* ]] || line=$dir/$line
  _shards_gitdir=$line _shards_wt=${dir:-/}
}
#if zsh

# Reads the whole file $1 into REPLY: one read(2) with zsh/system's sysread, where zsh's
# own `read` would take one system call a byte.
_shards_slurp() {
  REPLY=
  if (( _shards_sysread )); then
    \builtin sysread -s 65536 REPLY <"$1" || :
  else
    IFS= \builtin read -r -d '' REPLY <"$1" || :
  fi
  return 0
}
#endif

# Step 2: reads the file $1 (when it is a readable regular file) into _shards_data.
_shards_read() {
  [[ -f $1 && -r $1 ]] || return 0
#if bash direnv
  # read returns 1 at the end of the file, which is where -d '' stops: not a failure.
  IFS= \builtin read -r -d '' _shards_data <"$1" || :
#elif zsh
  _shards_slurp "$1"
  _shards_data=$REPLY
#endif
}

# Step 3: the valid KEY=VALUE lines of _shards_data into _shards_entries, and their keys
# into _shards_keys (" K1 K2 "); none when SHARD_ROOT names another directory than the
# worktree (the same directory by another path, through a symlink, is the worktree).
_shards_check() {
  local line key value root=
#if bash direnv
  local data=$_shards_data
  while [[ -n $data ]]; do
    line=${data%%$'\n'*}
    if [[ $data == *$'\n'* ]]; then data=${data#*$'\n'}; else data=; fi
#elif zsh
  for line in "${(@f)_shards_data}"; do
#endif
    key=${line%%=*} value=${line#*=}
    [[ $line == *=* && ( $key == PORT || ( $key == SHARD_?* && ${key#SHARD_} != *[!@KEY_CHARS@]* ) ) ]] || continue
    case $key in
    SHARD_ROOT) [[ $value == /* ]] || continue; root=$value ;;
    SHARD_NAME) [[ $value == [@NAME_FIRST@]* && $value != *[!@NAME_CHARS@]* ]] || continue ;;
    *) [[ -n $value && ${#value} -le @MAX_DIGITS@ && $value != *[!@DIGITS@]* ]] || continue ;;
    esac
    _shards_entries+=("$key=$value")
    [[ $_shards_keys == *" $key "* ]] || _shards_keys+="$key "
  done
  if [[ -n $root && $root != "$_shards_wt" ]] && ! [[ $root -ef $_shards_wt ]]; then
    _shards_entries=() _shards_keys=' '
  fi
  return 0
}
#if bash zsh

# Steps 4-6: makes the environment hold _shards_entries. Keys of _SHARDS_KEYS (from the
# environment: each passes the key check first, unless it is the list exported here last)
# that are not in the new set get their saved value back; new keys have what they held
# saved; then the entries are exported, all in one `export` (this runs on every cd).
_shards_apply() {
  local key keys=${_SHARDS_KEYS-} check=1
  [[ $keys != "${_shards_exported-}" ]] || check=''
#if bash
  # Lists below are split on spaces (a local IFS costs more than this test).
  [[ ${IFS-} == *' '* ]] || local IFS=' '
#endif
  # The common cd across a worktree's edge, with no value saved and none to save (nothing
  # of ours was set before), needs neither loop (they cost ~5 tests a key): out of a
  # worktree, the keys exported here (checked names) go; into one from outside, nothing is
  # kept.
  if [[ -z $_shards_saved && -z $check && $_shards_keys == ' ' ]]; then
#if bash
    # shellcheck disable=SC2086
    if [[ -n $keys ]]; then \builtin unset -v $keys; fi
  elif [[ -n $_shards_saved || -n $keys || -n ${!SHARD_*}${PORT+set} ]]; then
#elif zsh
    if [[ -n $keys ]]; then \builtin unset ${(s: :)keys}; fi
  elif [[ -n $_shards_saved || -n $keys || -n ${(k)parameters[(I)SHARD_*]}${PORT+set} ]]; then
#endif
    _shards_swap
  fi
  key=${_shards_keys# } key=${key% }
  if [[ -n $key ]]; then
    \builtin export ${_shards_entries[@]+"${_shards_entries[@]}"} _SHARDS_KEYS="$key"
  else
    \builtin unset -v _SHARDS_KEYS
  fi
#if bash
  _shards_exported=$key
#elif zsh
  typeset -g _shards_exported=$key
#endif
  return 0
}

# For _shards_apply: gives the old keys that go their saved values back, saves what the new
# keys held, and notes in _shards_saved whether a saved value is left.
_shards_swap() {
  local key old unset=''
#if bash
  local noglob=''
  # Split below without globbing (failglob, extglob): only a value that could glob needs
  # set -f, and holds none of our names.
  if [[ $keys == *[\*\?\[\(]* && $- != *f* ]]; then noglob=1; \builtin set -f; fi
  for key in $keys; do
#elif zsh
  for key in ${(s: :)keys}; do
#endif
    [[ $_shards_keys != *" $key "* && ( -z $check || $key == PORT ||
      ( $key == SHARD_?* && ${key#SHARD_} != *[!@KEY_CHARS@]* ) ) ]] || continue
    old=_SHARDS_OLD_$key
#if bash
    if [[ -n ${!old+set} ]]; then \builtin export "$key=${!old}"; unset+=" $old"; else unset+=" $key $old"; fi
#elif zsh
    if (( ${(P)+old} )); then \builtin export "$key=${(P)old}"; unset+=" $old"; else unset+=" $key $old"; fi
#endif
  done
#if bash
  for key in $_shards_keys; do
#elif zsh
  for key in ${(s: :)_shards_keys}; do
#endif
    [[ " $keys " != *" $key "* ]] || continue
    old=_SHARDS_OLD_$key
#if bash
    if [[ -n ${!key+set} ]]; then \builtin export "$old=${!key}"; else unset+=" $old"; fi
  done
  if [[ -n $noglob ]]; then \builtin set +f; fi
  # Split on purpose: checked names only, nothing to glob.
  # shellcheck disable=SC2086
  if [[ -n $unset ]]; then \builtin unset -v $unset; fi
  _shards_saved=${!_SHARDS_OLD_*}
#elif zsh
    if (( ${(P)+key} )); then \builtin export "$old=${(P)key}"; else unset+=" $old"; fi
  done
  if [[ -n $unset ]]; then \builtin unset ${(s: :)unset}; fi
  typeset -g _shards_saved=${(k)parameters[(I)_SHARDS_OLD_*]}${${+parameters}:#1}
#endif
}
#endif
#if bash

# Puts _shards_hook first in PROMPT_COMMAND, once: as a string, or as the first element of
# an array of several commands (bash 5.1+ runs each; before 5.1 only the first).
_shards_install() {
  local entry
  if [[ -n ${PROMPT_COMMAND+set} ]] &&
    ((BASH_VERSINFO[0] * 100 + BASH_VERSINFO[1] >= 501 && ${#PROMPT_COMMAND[@]} > 1)); then
    for entry in "${PROMPT_COMMAND[@]}"; do
      [[ $entry != *_shards_hook* ]] || return 0
    done
    PROMPT_COMMAND=(_shards_hook "${PROMPT_COMMAND[@]}")
  else
    [[ ${PROMPT_COMMAND-} != *_shards_hook* ]] || return 0
    # shellcheck disable=SC2128,SC2178 # one string, or element 0 of a one-element array
    PROMPT_COMMAND=_shards_hook${PROMPT_COMMAND:+$'\n'$PROMPT_COMMAND}
  fi
}

# Names left from an environment (never exported by us) would fool the first reload.
\builtin unset -v _shards_pwd _shards_oldpwd _shards_applied _shards_applied_wt _shards_exported \
  _shards_checked _shards_checked_wt _shards_checked_keys _shards_checked_entries
# Values saved by a shell this one was started from, to give back when leaving.
_shards_saved=${!_SHARDS_OLD_*}
# Tells `shards doctor` that the integration is loaded in this shell: the shell level says
# which shell, so a shell started from here without the integration does not inherit it.
\builtin export SHARDS_SHELL="bash:${SHLVL-}"
_shards_install
#elif zsh

# Names left from an environment (never exported by us) would fool the first reload.
\builtin unset _shards_pwd _shards_applied _shards_applied_wt _shards_exported \
  _shards_checked _shards_checked_wt _shards_checked_keys _shards_checked_entries
# Values saved by a shell this one was started from, to give back when leaving. Without
# zsh/parameter's $parameters (a zsh built without it) no name can be asked for by pattern:
# "0", for "maybe", keeps the save-and-restore loops on every cd.
typeset -g _shards_saved=${(k)parameters[(I)_SHARDS_OLD_*]}${${+parameters}:#1}
# Tells `shards doctor` that the integration is loaded in this shell: the shell level says
# which shell, so a shell started from here without the integration does not inherit it.
\builtin export SHARDS_SHELL="zsh:${SHLVL-}"
typeset -gi _shards_sysread=0
\builtin zmodload zsh/system 2>/dev/null && _shards_sysread=1
# Adds the hooks once (not add-zsh-hook: it would call a function named like a builtin).
_shards_install() {
  \builtin emulate -L zsh
  (( ${chpwd_functions[(I)_shards_chpwd]} )) || chpwd_functions+=(_shards_chpwd)
  (( ${precmd_functions[(I)_shards_hook]} )) || precmd_functions+=(_shards_hook)
}
_shards_install
#endif
