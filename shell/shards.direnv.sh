# shards: `use shards` for direnv.
#
#   shards hook direnv > ~/.config/direnv/lib/shards.sh
#   echo 'use shards' >> .envrc && direnv allow
#
# Exports the worktree's SHARD_* (and PORT) variables, read from `<git dir>/shards.env` as
# data (never sourced). A worktree without a range gets one on first load
# (`shards allocate`, the CLI on PATH). direnv watches shards.env, so a new range (release +
# allocate, `shards allocate --count N`, a config change) is seen at the next prompt;
# direnv compares modification times to the second. Leaving the directory restores what
# the variables held before: direnv does that.

# use shards: exports the ports of the worktree holding the .envrc's directory.
use_shards() {
  local gitdir envfile err
  if ! gitdir=$(git rev-parse --absolute-git-dir 2>/dev/null) || [[ -z $gitdir ]]; then
    log_error "shards: $PWD is not inside a git worktree"
    return 1
  fi
  envfile=$gitdir/shards.env
  watch_file "$envfile"
  if [[ ! -f $envfile ]]; then
    if ! has shards; then
      log_error "shards: the shards command is not on PATH; cannot allocate ports"
      return 1
    fi
    if ! err=$(shards allocate 2>&1 >/dev/null); then
      err=${err#$'\n'}
      log_error "shards: allocate failed${err:+: ${err%%$'\n'*}}"
      return 1
    fi
  fi
  _shards_export "$envfile"
  # Tells `shards doctor` that the integration is active here.
  export SHARDS_SHELL=direnv
}

# Exports the valid KEY=VALUE lines of the file $1; ignores the rest.
_shards_export() {
  local line key value
  [[ -f $1 && -r $1 ]] || return 0
  while IFS= read -r line || [[ -n $line ]]; do
    [[ $line == *=* ]] || continue
    key=${line%%=*} value=${line#*=}
    if _shards_valid "$key" "$value"; then export "$key=$value"; fi
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
