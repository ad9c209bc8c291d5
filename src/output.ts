// Messages for people go to stderr as `shards: ...` lines; data goes to stdout untouched.
// consola's core with a one-line reporter: no fancy reporter, no colours to strip.
// Both are written with fs.writeSync: process.stdout would load node:stream (~2 ms) on the
// hook's path, and a CLI that exits right after printing must not lose buffered output.
import { writeSync } from "node:fs";
import { type ConsolaInstance, createConsola } from "consola/core";

function write(fd: 1 | 2, text: string): void {
  try {
    writeSync(fd, text);
  } catch (error) {
    // A non-blocking pipe that is full: let node's stream queue it instead.
    if ((error as NodeJS.ErrnoException).code !== "EAGAIN") throw error;
    (fd === 1 ? process.stdout : process.stderr).write(text);
  }
}

/** Data for stdout: a table, a range, an environment. */
export function print(text: string): void {
  write(1, text);
}

let consola: ConsolaInstance | undefined;

/** Made on first use: most runs (and the hook's) print no message at all. */
function messages(): ConsolaInstance {
  consola ??= createConsola({
    reporters: [
      {
        log({ type, args }) {
          const prefix = type === "warn" ? "shards: warning: " : "shards: ";
          write(2, `${prefix}${args.join(" ")}\n`);
        },
      },
    ],
  });
  return consola;
}

export const logger = {
  warn: (message: string) => messages().warn(message),
};

export function printJson(value: unknown): void {
  print(`${JSON.stringify(value, null, 2)}\n`);
}
