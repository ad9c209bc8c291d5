import { spawn } from "node:child_process";
import { defineCommand } from "citty";
import { ensureAllocation } from "../flows.ts";
import { UsageError } from "../errors.ts";
import { worktreeAndConfig } from "./_shared.ts";

const FORWARDED: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];

export default defineCommand({
  meta: { name: "exec", description: "Run a command with the worktree's port variables" },
  args: {
    command: { type: "positional", required: false, description: "-- then the command and its arguments: shards exec -- npm run dev" },
  },
  async run({ rawArgs }) {
    const dash = rawArgs.indexOf("--");
    const [command, ...argv] = dash === -1 ? rawArgs : rawArgs.slice(dash + 1);
    if (!command) throw new UsageError("no command given: use shards exec -- <command> [args...]");
    const { wt, config } = await worktreeAndConfig(undefined);
    const { env } = await ensureAllocation(wt, config);
    const child = spawn(command, argv, { stdio: "inherit", env: { ...process.env, ...env } });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    for (const signal of FORWARDED) process.on(signal, forward);
    const code = await new Promise<number>((done) => {
      child.on("error", (error: NodeJS.ErrnoException) => {
        process.stderr.write(`shards: cannot run ${command}: ${error.code === "ENOENT" ? "command not found" : error.message}\n`);
        done(error.code === "ENOENT" ? 127 : 126);
      });
      child.on("exit", (status, signal) => {
        for (const s of FORWARDED) process.off(s, forward);
        if (signal) {
          // Die of the same signal, so that our parent sees what the command saw. The
          // signal-exit handlers that our lock and write libraries leave behind would
          // each wait for the other and swallow it: nothing is left to clean up, so drop them.
          process.removeAllListeners(signal);
          process.kill(process.pid, signal);
        }
        done(status ?? 1);
      });
    });
    process.exitCode = code;
  },
});
