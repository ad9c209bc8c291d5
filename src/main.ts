// The CLI: citty wires the commands (each loaded only when it runs), and this file alone
// turns errors into messages and exit codes. (The git hook's `post-checkout` never comes
// here: cli.ts sends it to its own small bundle.)
import { isatty } from "node:tty";
import type { ArgDef, CommandDef } from "citty";
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
  stop: () => import("./commands/stop.ts"),
};

/** citty colours its usage unless NO_COLOR is set when it loads: no escapes into a pipe. */
async function importCitty() {
  const plain = !isatty(1) && process.env.NO_COLOR === undefined;
  if (plain) process.env.NO_COLOR = "1";
  const citty = await import("citty");
  // Not left set: `shards exec` passes our environment on to the command it runs.
  if (plain) delete process.env.NO_COLOR;
  return citty;
}

/** citty takes any --flag; a mistyped one (--jsno) must be a usage error, not ignored. */
function unknownOption(command: CommandDef, args: string[]): string | undefined {
  const known = new Set<string>();
  for (const [key, arg] of Object.entries((command.args ?? {}) as Record<string, ArgDef>)) {
    if (arg.type === "positional") continue;
    known.add(key);
    if (arg.type === "boolean") known.add(`no-${key}`);
  }
  return args.find((a) => /^-[a-zA-Z]/.test(a) || (a.startsWith("--") && !known.has(a.slice(2).split("=")[0])));
}

async function run(argv: string[]): Promise<void> {
  // Flags after `--` belong to the command that `exec` runs, not to us.
  const own = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  if (own.length === 1 && (own[0] === "--version" || own[0] === "-v")) return print(`${pkg.version}\n`);

  const { defineCommand, runCommand, showUsage } = await importCitty();
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
    const load = commands[name as keyof typeof commands];
    const unknown = unknownOption(load ? ((await load()).default as CommandDef) : main, own.filter((a) => a !== name));
    if (unknown) throw new UsageError(`unknown option ${unknown}${name === "exec" ? " (put the command after --)" : ""}`);
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

// Exit as soon as the command is done (a natural exit tears the heap down first); output
// was written synchronously, and exec has already waited for its command.
void run(process.argv.slice(2)).then(() => process.exit());
