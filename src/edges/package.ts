// The files shards ships beside its code: the hook template (hooks/) and the shell
// snippets (shell/), found from the bundle (dist/) and from the sources (src/) alike.
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";

/** The package root: the nearest directory up from this file with package.json, hooks/ and shell/. */
export function packageRoot(): string {
  for (let dir = import.meta.dirname; ; dir = dirname(dir)) {
    if (["package.json", "hooks", "shell"].every((name) => existsSync(join(dir, name)))) return dir;
    if (dirname(dir) === dir) throw new Error("cannot find the shards package (hooks/ and shell/ beside package.json)");
  }
}

/** A file the package ships, e.g. `packageFile("shell", "shards.zsh")`. */
export function packageFile(...parts: string[]): string {
  return join(packageRoot(), ...parts);
}
