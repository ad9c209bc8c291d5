// Messages for people go to stderr as `shards: ...` lines; data goes to stdout untouched.
// consola's core with a one-line reporter: no fancy reporter, no colours to strip.
import { createConsola } from "consola/core";

export const logger = createConsola({
  reporters: [
    {
      log({ type, args }) {
        const prefix = type === "warn" ? "shards: warning: " : "shards: ";
        process.stderr.write(`${prefix}${args.join(" ")}\n`);
      },
    },
  ],
});

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
