// The CLI: citty wires the commands (each loaded only when it runs), and this file alone
// turns errors into messages and exit codes. (The git hook's `post-checkout` never comes
// here: cli.ts sends it to its own small bundle.)
import type { CommandDef } from "citty";
import pkg from "../package.json" with { type: "json" };
import { ShardsError, UsageError } from "./errors.ts";
import { print } from "./output.ts";

const commands = {
  allocate: () => import("./commands/allocate.ts"),
  release: () => import("./commands/release.ts"),
  create: () => import("./commands/create.ts"),
  destroy: () => import("./commands/destroy.ts"),
  list: () => import("./commands/list.ts"),
  prune: () => import("./commands/prune.ts"),
  env: () => import("./commands/env.ts"),
  exec: () => import("./commands/exec.ts"),
  install: () => import("./commands/install.ts"),
  uninstall: () => import("./commands/uninstall.ts"),
  hook: () => import("./commands/hook.ts"),
  doctor: () => import("./commands/doctor.ts"),
  which: () => import("./commands/which.ts"),
};

async function run(argv: string[]): Promise<void> {
  // Flags after `--` belong to the command that `exec` runs, not to us.
  const own = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  if (own.length === 1 && (own[0] === "--version" || own[0] === "-v")) return print(`${pkg.version}\n`);

  const { defineCommand, runCommand, showUsage } = await import("citty");
  const main = defineCommand({
    meta: { name: "shards", version: pkg.version, description: pkg.description },
    subCommands: Object.fromEntries(
      Object.entries(commands).map(([name, load]) => [name, () => load().then((m) => m.default as CommandDef)]),
    ),
  });
  const name = own.find((a) => !a.startsWith("-"));
  const usage = async () => {
    const load = commands[name as keyof typeof commands];
    if (load) await showUsage((await load()).default as CommandDef, main);
    else await showUsage(main);
  };
  if (own.includes("--help") || own.includes("-h")) return usage();
  try {
    await runCommand(main, { rawArgs: argv });
  } catch (error) {
    const err = error as Error;
    if (err.name === "CLIError" || err instanceof UsageError) {
      await usage();
      process.stderr.write(`shards: ${err.message}\n`);
    } else if (err instanceof ShardsError) {
      process.stderr.write(`shards: ${err.message}\n`);
    } else {
      process.stderr.write(`shards: unexpected error (a bug; please report it):\n${err.stack ?? err}\n`);
    }
    process.exitCode = 1;
  }
}

void run(process.argv.slice(2));
