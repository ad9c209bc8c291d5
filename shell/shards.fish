# shards: export the worktree's ports on cd (fish).
#
#   shards hook fish | source         # in ~/.config/fish/config.fish
#
# When $PWD is set (on every cd), and once when this file is loaded, the hook walks up from
# $PWD to the nearest `.git` (a directory, or a file `gitdir: <path>`), reads
# `<git dir>/shards.env` line by line as data and exports its SHARD_* (and PORT) variables.
# What a variable held before shards first set it (or that it was unset) is kept in
# _SHARDS_OLD_<KEY>, the keys shards set in _SHARDS_KEYS (both exported, so a shell started
# from here restores them too); leaving the worktree puts those values back.
#
# No process is started: only builtins and `read` (fish runs builtins in a command
# substitution in-process); no eval; nothing in shards.env is ever executed. Nothing runs
# at the prompt; shards.env is re-read only when $PWD is set: `cd .` re-reads it.
# Sourcing this file twice installs the hook once (a function defined again replaces
# itself and its event handler).

# The cd hook.
function _shards_on_pwd --on-variable PWD
    _shards_reload
end

# Reads the environment of the worktree holding $PWD (none outside one) and applies it.
function _shards_reload
    set -g _shards_pwd $PWD
    set -g _shards_keys
    set -g _shards_values
    if _shards_find_gitdir $PWD
        _shards_read $_shards_gitdir/shards.env
    end
    _shards_apply
    set -e _shards_gitdir _shards_keys _shards_values
end

# Walks up from $argv[1] to the nearest .git; sets _shards_gitdir. Returns 1 outside a worktree.
function _shards_find_gitdir --argument-names dir
    set -l IFS # a command substitution below yields one word, newlines and all
    while true
        if test -d "$dir/.git"
            set -g _shards_gitdir "$dir/.git"
            return 0
        end
        if test -f "$dir/.git"
            # A linked worktree (or submodule): "gitdir: <path>", relative to this directory.
            set -l line
            read -z line <"$dir/.git"
            set line (string replace -r '[\r\n]+$' '' -- "$line")
            string match -q -- 'gitdir: ?*' "$line"; or return 1
            set line (string sub -s 9 -- "$line")
            string match -q -- '/*' "$line"; or set line "$dir/$line"
            set -g _shards_gitdir "$line"
            return 0
        end
        test -n "$dir"; or return 1
        set dir (string replace -r '/[^/]*$' '' -- "$dir")
    end
end

# Appends the valid KEY=VALUE lines of the file $argv[1] to _shards_keys/_shards_values.
function _shards_read --argument-names file
    test -f $file -a -r $file; or return 0
    while read -l -d = key value
        if _shards_valid "$key" "$value"
            set -a _shards_keys "$key"
            set -a _shards_values "$value"
        end
    end <$file
    return 0
end

# Is $argv[1] a key shards may set? ^(SHARD_[A-Z0-9_]+|PORT)$
function _shards_valid_key --argument-names key
    string match -qr -- '^(SHARD_[A-Z0-9_]+|PORT)$' "$key"
end

# Is $argv[1]=$argv[2] valid data? Values are 1-5 digits; SHARD_ROOT's is an absolute path.
function _shards_valid --argument-names key value
    _shards_valid_key "$key"; or return 1
    if test "$key" = SHARD_ROOT
        string match -q -- '/*' "$value"
    else
        string match -qr -- '^[0-9]{1,5}$' "$value"
    end
end

# Makes the environment hold _shards_keys/_shards_values: puts back the keys set before that
# are not in it, remembers what the new keys held, exports them, and records the keys set.
function _shards_apply
    set -l keys
    for key in $_shards_keys
        contains -- $key $keys; or set -a keys $key
    end
    for key in $_SHARDS_KEYS
        if not contains -- $key $keys; and _shards_valid_key $key
            _shards_restore $key
        end
    end
    for key in $keys
        contains -- $key $_SHARDS_KEYS; or _shards_save $key
    end
    set -l values $_shards_values
    for key in $_shards_keys
        set -gx $key $values[1]
        set -e values[1]
    end
    if set -q keys[1]
        set -gx _SHARDS_KEYS $keys
    else
        set -e _SHARDS_KEYS
    end
end

# Remembers what $argv[1] holds now, or that it is unset, in _SHARDS_OLD_$argv[1].
function _shards_save --argument-names key
    if set -q $key
        set -gx _SHARDS_OLD_$key $$key
    else
        set -e _SHARDS_OLD_$key
    end
end

# Puts back what $argv[1] held before shards set it.
function _shards_restore --argument-names key
    set -l old _SHARDS_OLD_$key
    if set -q $old
        set -gx $key $$old
    else
        set -eg $key
    end
    set -e $old
end

# _SHARDS_KEYS comes from the environment as one word ("A B"): make it a list again.
if set -q _SHARDS_KEYS
    set -gx _SHARDS_KEYS (string split -n ' ' -- "$_SHARDS_KEYS")
end
# Tells `shards doctor` (and a curious user) that the integration is loaded in this shell.
set -gx SHARDS_SHELL fish
_shards_reload
