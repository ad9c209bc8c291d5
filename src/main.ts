// The CLI: citty wires the commands (each loaded only when it runs), and this file alone
// checks the command line and turns errors into messages and exit codes: 2 for a usage
// error (the error and the usage on stderr, nothing on stdout), 1 for any other error.
// (The git hook's `post-checkout` never comes here: cli.ts sends it to its own small bundle.)
import { isatty } from "node:tty";
import type { ArgDef, CommandDef } from "citty";
import pkg from "../package.json" with { type: "json" };
import { ShardsError, UsageError, userMessage } from "./errors.ts";
import { logger, print, printToStderr } from "./output.ts";

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

/** `help [command]` is answered here (it needs the table above); listed with the others. */
const help: CommandDef = {
  meta: { name: "help", description: "Show the usage of shards or of one command" },
  args: { command: { type: "positional", required: false, description: "A command" } },
};

/** The command of that name; own properties only, so `constructor` or `__proto__` is unknown. */
async function lookup(name: string): Promise<CommandDef | undefined> {
  if (name === "help") return help;
  if (!Object.hasOwn(commands, name)) return undefined;
  return (await commands[name as keyof typeof commands]()).default as CommandDef;
}

/** citty colours its usage unless NO_COLOR is set when it loads: no escapes into a pipe. */
async function importCitty() {
  const plain = !(isatty(1) && isatty(2)) && process.env.NO_COLOR === undefined;
  if (plain) process.env.NO_COLOR = "1";
  const citty = await import("citty");
  // Not left set: `shards exec` passes our environment on to the command it runs.
  if (plain) delete process.env.NO_COLOR;
  return citty;
}

/**
 * What citty would let through: an unknown option (a mistyped --jsno must not be ignored),
 * an option without its value, or more arguments than the command takes. `exec` takes the
 * rest of the line after `--`, which never reaches here.
 */
function usageProblem(command: CommandDef, args: string[]): string | undefined {
  const defs = Object.entries((command.args ?? {}) as Record<string, ArgDef>);
  const takesValue = new Set(defs.filter(([, d]) => d.type === "string" || d.type === "enum").map(([k]) => k));
  const flags = new Set(takesValue);
  for (const [key, def] of defs) if (def.type === "boolean") flags.add(key).add(`no-${key}`);
  const room = defs.filter(([, d]) => d.type === "positional").length;
  let positionals = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg.startsWith("--")) {
      const key = arg.slice(2).split("=")[0]!;
      if (!flags.has(key)) return `unknown option ${arg}`;
      if (takesValue.has(key) && !arg.includes("=") && ++i >= args.length) return `${arg} needs a value`;
    } else if (/^-./.test(arg)) return `unknown option ${arg}`;
    else if (++positionals > room) return `unexpected argument ${arg}`;
  }
  const missing = defs.find(([, d]) => d.type === "positional" && d.required);
  if (missing && positionals === 0) return `missing argument <${missing[0]}>`;
  return undefined;
}

function currentDirectory(): string {
  try {
    return process.cwd();
  } catch {
    throw new ShardsError("the current directory no longer exists; cd to one that does");
  }
}

/** citty's own messages (an enum value it refuses) in our voice. */
function cittyMessage(message: string): string {
  const invalid = /^Invalid value for argument: (--\S+) \((.*)\)\. Expected one of: (.*)\.$/.exec(message);
  if (invalid) return `invalid value for ${invalid[1]}: ${invalid[2]} (expected one of ${invalid[3]})`;
  return message.charAt(0).toLowerCase() + message.slice(1);
}

async function run(argv: string[]): Promise<void> {
  // Flags after `--` belong to the command that `exec` runs, not to us.
  const own = argv.includes("--") ? argv.slice(0, argv.indexOf("--")) : argv;
  if (own.length === 1 && (own[0] === "--version" || own[0] === "-v")) return print(`${pkg.version}\n`);

  const { defineCommand, renderUsage, runCommand } = await importCitty();
  const main = defineCommand({
    meta: { name: "shards", version: pkg.version, description: pkg.description },
    subCommands: Object.fromEntries([
      ...Object.entries(commands).map(([name, load]) => [name, () => load().then((m) => m.default as CommandDef)]),
      ["help", help],
    ]),
  });
  const usage = async (command?: CommandDef) =>
    `${(await renderUsage(command ?? main, command ? main : undefined)).replace(/[ \t]+$/gm, "")}\n`;

  const at = own.findIndex((a) => !a.startsWith("-"));
  const name = own[at];
  const command = name === undefined ? undefined : await lookup(name);
  try {
    if (name !== undefined && !command) throw new UsageError(`unknown command ${name}`);
    // Before the command, shards itself takes only --help (and --version alone, above).
    const stray = own.slice(0, at === -1 ? own.length : at).find((a) => a !== "--help" && a !== "-h");
    if (stray) throw new UsageError(`unknown option ${stray}`);
    if (own.includes("--help") || own.includes("-h") || command === help || !command) {
      const about = command === help ? own[at + 1] : undefined;
      const target = about === undefined ? (command === help ? undefined : command) : await lookup(about);
      if (about !== undefined && !target) throw new UsageError(`unknown command ${about}`);
      return print(await usage(target));
    }
    // Every command but `hook` starts from the current directory; without one, say so once.
    if (name !== "hook") currentDirectory();
    const problem = usageProblem(command, own.slice(at + 1));
    if (problem) throw new UsageError(`${problem}${name === "exec" ? " (put the command after --)" : ""}`);
    await runCommand(main, { rawArgs: argv });
  } catch (error) {
    const fromCitty = (error as Error).name === "CLIError";
    const usageError = fromCitty || error instanceof UsageError;
    const message = fromCitty ? cittyMessage((error as Error).message) : userMessage(error);
    if (message === null)
      logger.error(`unexpected error (a bug; please report it): ${(error as Error).stack ?? error}`);
    else logger.error(message);
    if (usageError) printToStderr(`\n${await usage(command === help ? undefined : command)}`);
    process.exitCode = usageError ? 2 : 1;
  }
}

// Exit as soon as the command is done (a natural exit tears the heap down first); output
// was written synchronously, and exec has already waited for its command.
void run(process.argv.slice(2)).then(() => process.exit());
