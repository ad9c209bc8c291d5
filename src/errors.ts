// Typed errors. A ShardsError is the user's to fix: one line on stderr, exit 1, no stack.
// Anything else is a bug and keeps its stack. `cli.ts` maps both in one place.

export class ShardsError extends Error {
  override name = "ShardsError";
}

/** A config value that breaks its rule; names the key, the value and where it came from. */
export class ConfigError extends ShardsError {
  override name = "ConfigError";
  constructor(key: string, value: unknown, source: string, rule: string) {
    super(`invalid ${key} ${JSON.stringify(value) ?? String(value)} in ${source}: ${rule}`);
  }
}

export class NotAWorktreeError extends ShardsError {
  override name = "NotAWorktreeError";
  constructor(path: string) {
    super(`not inside a git worktree: ${path} (run shards inside a git repository)`);
  }
}

/** Where a command runs, there is a bare repository (the bare dir, or `proj/` of the `.bare` layout): no worktree of its own. */
export class BareRepositoryError extends NotAWorktreeError {
  override name = "BareRepositoryError";
  constructor(
    path: string,
    readonly gitDir: string,
  ) {
    super(path);
    this.message = `${path} is a bare repository: it has no worktree of its own (run shards in one of its worktrees; \`git worktree list\` names them)`;
  }
}

export class PoolExhaustedError extends ShardsError {
  override name = "PoolExhaustedError";
}

/** The registry cannot be read or written; says which file and what to do. */
export class RegistryError extends ShardsError {
  override name = "RegistryError";
}

/** A wrong argument: cli.ts shows usage with it. */
export class UsageError extends ShardsError {
  override name = "UsageError";
}
