import { readFileSync } from "node:fs";
import { defineCommand } from "citty";
import { packageFile } from "../edges/package.ts";
import { UsageError } from "../errors.ts";
import { print } from "../output.ts";

const FILES = { bash: "shards.bash", zsh: "shards.zsh", fish: "shards.fish", direnv: "shards.direnv.sh" };

export default defineCommand({
  meta: { name: "hook", description: 'Print the shell integration: eval "$(shards hook zsh)"' },
  args: {
    shell: {
      type: "positional",
      required: true,
      // direnv reads its lib dir from XDG_CONFIG_HOME, as its stdlib does.
      description:
        'bash, zsh, fish or direnv (shards hook direnv > "${XDG_CONFIG_HOME:-$HOME/.config}/direnv/lib/shards.sh")',
    },
  },
  run({ args }) {
    const file = Object.hasOwn(FILES, args.shell) ? FILES[args.shell as keyof typeof FILES] : undefined;
    if (!file) throw new UsageError(`unknown shell ${JSON.stringify(args.shell)}: use bash, zsh, fish or direnv`);
    print(readFileSync(packageFile("shell", file), "utf8"));
  },
});
