// Typed errors. A ShardsError is the user's to fix: one line on stderr, exit 1, no stack.
// A UsageError is a wrong command line: the usage with it, exit 2. An error that the
// system raised (a deleted current directory, a file where a directory should be) is the
// environment's, also one line. Anything else is a bug and keeps its stack. main.ts maps
// them all in one place (the hook's bundle, post-checkout.ts, turns each into a warning).

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

/** A wrong command line: main.ts prints the usage with it and exits 2. */
export class UsageError extends ShardsError {
  override name = "UsageError";
}

/** `ENOTDIR: not a directory, open '/r/.git/hooks/post-checkout'` -> `cannot open /r/...: not a directory`. */
function systemMessage(error: NodeJS.ErrnoException): string {
  if (error.syscall === "uv_cwd") return "the current directory no longer exists; cd to one that does";
  const what = error.message.replace(/^E[A-Z0-9]+: /, "").split(",")[0]!;
  return `cannot ${error.syscall ?? "do that"}${error.path ? ` ${error.path}` : ""}: ${what} (${error.code})`;
}

/** The first line of a message (git's stderr, an error's text): messages are one line. */
export function firstLine(text: string): string {
  return text.split("\n")[0]!;
}

/** The first line of any thrown value's message. */
export function errorLine(error: unknown): string {
  return firstLine(error instanceof Error ? error.message : String(error));
}

/** The one line to show for an error that the user or the system caused; null for a bug. */
export function userMessage(error: unknown): string | null {
  if (error instanceof ShardsError) return error.message;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code === "string" && /^E[A-Z0-9]+$/.test(code)) return systemMessage(error as NodeJS.ErrnoException);
  return null;
}
