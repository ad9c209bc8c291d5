// The one output path. Data goes to stdout untouched (print, printJson); messages for people
// go to stderr as `shards: ...` lines through `logger`, the only place that prefix is made.
// consola's core with a one-line reporter: no fancy reporter, no colours to strip.
// Everything is written with fs.writeSync: process.stdout would load node:stream (~2 ms) on
// the hook's path, and a CLI that exits right after printing must not lose buffered output.
import { writeSync } from "node:fs";
import { type ConsolaInstance, createConsola } from "consola/core";
import { ShardsError } from "./errors.ts";

const STREAM = { 1: "stdout", 2: "stderr" } as const;

/**
 * A reader that went away (`shards env | true`, `| head -c 0`) ends our output quietly: the
 * command still finishes its work (it may hold the registry lock) and nothing more is shown.
 * A full disk behind stdout is one line; behind stderr there is nowhere left to say it.
 */
function write(fd: 1 | 2, text: string): void {
  try {
    writeSync(fd, text);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EPIPE") return;
    // A non-blocking pipe that is full: let node's stream queue it instead.
    if (code === "EAGAIN") return void queue(fd, text);
    if (fd === 1) throw new ShardsError(`cannot write to ${STREAM[fd]}: ${(error as Error).message.split(",")[0]}`);
  }
}

function queue(fd: 1 | 2, text: string): void {
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (stream.listenerCount("error") === 0) stream.on("error", () => {});
  stream.write(text);
}

/** Data for stdout: a table, a range, an environment. */
export function print(text: string): void {
  write(1, text);
}

export function printJson(value: unknown): void {
  print(`${JSON.stringify(value, null, 2)}\n`);
}

/** Text for people that is not a message of ours: the usage, git's own lines. */
export function printToStderr(text: string): void {
  write(2, text);
}

/** The one place a message gets its `shards: ` prefix. */
function prefixed(message: string, type?: string): string {
  return `shards: ${type === "warn" ? "warning: " : ""}${message}\n`;
}

/**
 * A line for people on stdout: the hook's range line. git shows a hook's stdout on its
 * stderr, and hook managers (lefthook) show what the command printed.
 */
export function announce(message: string): void {
  write(1, prefixed(message));
}

let consola: ConsolaInstance | undefined;

/** Made on first use: most runs (and the hook's) print no message at all. */
function messages(): ConsolaInstance {
  consola ??= createConsola({
    reporters: [
      {
        log({ type, args }) {
          write(2, prefixed(args.join(" "), type));
        },
      },
    ],
  });
  return consola;
}

export const logger = {
  /** What the user asked for went wrong. */
  error: (message: string) => messages().error(message),
  warn: (message: string) => messages().warn(message),
};
