import { readFileSync } from "node:fs";
import { join } from "node:path";
import { defineCommand } from "citty";
import { packageRoot } from "../edges/hooks.ts";
import { UsageError } from "../errors.ts";
import { print } from "../output.ts";

const FILES = { bash: "shards.bash", zsh: "shards.zsh", fish: "shards.fish", direnv: "shards.direnv.sh" };

export default defineCommand({
  meta: { name: "hook", description: "Print the shell integration: eval \"$(shards hook zsh)\"" },
  args: { shell: { type: "positional", required: true, description: "bash, zsh, fish or direnv" } },
  run({ args }) {
    const file = Object.hasOwn(FILES, args.shell) ? FILES[args.shell as keyof typeof FILES] : undefined;
    if (!file) throw new UsageError(`unknown shell ${JSON.stringify(args.shell)}: use bash, zsh, fish or direnv`);
    print(readFileSync(join(packageRoot(), "shell", file), "utf8"));
  },
});
