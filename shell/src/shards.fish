@ABOUT@

# fish lets no function take the names set, read, test or string; the other builtins used
# here are called as `builtin NAME`, so that a function of that name changes nothing.

# The cd hook.
function _shards_on_pwd --on-variable PWD
    _shards_chpwd
end

# Steps 1-6 for the worktree holding $PWD (none outside one).
function _shards_chpwd
    set -g _shards_gitdir
    set -g _shards_wt
    set -g _shards_data
    set -g _shards_keys
    set -g _shards_values
    if _shards_find_gitdir $PWD
        _shards_read $_shards_gitdir/shards.env
    end
    _shards_check
    _shards_apply
    set -e _shards_gitdir _shards_wt _shards_data _shards_keys _shards_values
end

# Step 1: walks up from $argv[1] to the nearest .git; sets _shards_gitdir, and _shards_wt
# to the directory that holds it. Returns 1 outside a worktree.
function _shards_find_gitdir --argument-names dir
    set -l IFS # a command substitution below yields one word, newlines and all
    while true
        if test -d "$dir/.git"
            set -g _shards_gitdir "$dir/.git"
            set -g _shards_wt "$dir"
            test -n "$dir"; or set _shards_wt /
            return 0
        end
        if test -f "$dir/.git"
            # A linked worktree (or submodule): "gitdir: <path>", relative to this directory.
            test -r "$dir/.git"; or return 1
            # The whole file: the path may hold a newline; only the line ends are taken off.
            set -l line
            read -z line <"$dir/.git"
            set line (string replace -r '[\r\n]+$' '' -- "$line")
            string match -q -- 'gitdir: ?*' "$line"; or return 1
            set line (string sub -s 9 -- "$line")
            string match -q -- '/*' "$line"; or set line "$dir/$line"
            set -g _shards_gitdir "$line"
            set -g _shards_wt "$dir"
            test -n "$dir"; or set _shards_wt /
            return 0
        end
        test -n "$dir"; or return 1
        set dir (string replace -r '/[^/]*$' '' -- "$dir")
    end
end

# Step 2: reads the file $argv[1] (when it is a readable regular file) into _shards_data,
# one element a line.
function _shards_read --argument-names file
    test -f "$file" -a -r "$file"; or return 0
    set -l data
    read -z data <"$file"
    set -g _shards_data (string split -- \n "$data")
end

# Step 3: the valid KEY=VALUE lines of _shards_data into _shards_keys and _shards_values;
# none when SHARD_ROOT names another directory than the worktree (the same directory by
# another path, through a symlink, is the worktree).
function _shards_check
    set -l root
    for line in $_shards_data
        string match -q -- '*=*' "$line"; or continue
        set -l kv (string split -m 1 -- = "$line")
        set -l key $kv[1]
        set -l value $kv[2]
        string match -qr -- '@KEY_RE@' "$key"; or continue
        switch $key
            case SHARD_ROOT
                string match -q -- '/*' "$value"; or continue
                set root "$value"
            case SHARD_NAME
                string match -qr -- '@NAME_RE@' "$value"; or continue
            case '*'
                string match -qr -- '@DIGITS_RE@' "$value"; or continue
        end
        set -a _shards_keys "$key"
        set -a _shards_values "$value"
    end
    if test -n "$root" -a "$root" != "$_shards_wt"; and not test "$root" -ef "$_shards_wt"
        set -g _shards_keys
        set -g _shards_values
    end
end

# Steps 4-6: makes the environment hold _shards_keys/_shards_values. Keys of _SHARDS_KEYS
# (from the environment: each passes the key check first) that are not in the new set get
# their saved value back; new keys have what they held saved; then the values are exported.
function _shards_apply
    set -l keys
    for key in $_shards_keys
        builtin contains -- $key $keys; or set -a keys $key
    end
    for key in $_SHARDS_KEYS
        string match -qr -- '@KEY_RE@' "$key"; or continue
        builtin contains -- $key $keys; and continue
        set -l old _SHARDS_OLD_$key
        if set -q $old
            set -gx $key $$old
        else
            set -eg $key
        end
        set -e $old
    end
    for key in $keys
        builtin contains -- $key $_SHARDS_KEYS; and continue
        if set -q $key
            set -gx _SHARDS_OLD_$key $$key
        else
            set -e _SHARDS_OLD_$key
        end
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

# _SHARDS_KEYS comes from the environment as one word ("A B"): make it a list again.
if set -q _SHARDS_KEYS
    set -gx _SHARDS_KEYS (string split -n ' ' -- "$_SHARDS_KEYS")
end
# Tells `shards doctor` that the integration is loaded in this shell: the shell level says
# which shell, so a shell started from here without the integration does not inherit it.
set -gx SHARDS_SHELL "fish:$SHLVL"
_shards_chpwd
