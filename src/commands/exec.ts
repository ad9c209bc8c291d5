import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { isatty } from "node:tty";
import { defineCommand } from "citty";
import { UsageError } from "../errors.ts";
import { ensureAllocation } from "../flows.ts";
import { logger } from "../output.ts";
import { worktreeAndConfig } from "./_shared.ts";

const FORWARDED: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"];
/** What a terminal sends to its whole foreground process group, the command included. */
const KEYBOARD: NodeJS.Signals[] = ["SIGINT", "SIGQUIT"];

/**
 * Whether we run in the terminal's foreground process group: then Ctrl-C and Ctrl-\ already
 * reached the command, and sending them again would be a second Ctrl-C (`docker compose`
 * force-quits on it). Linux tells in /proc/self/stat (pgrp and tpgid); elsewhere a terminal
 * on stdin is taken as the sign.
 */
function inForegroundGroup(): boolean {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const [pgrp, tpgid] = [fields[2], fields[5]];
    return tpgid !== "-1" && pgrp === tpgid;
  } catch {
    return isatty(0);
  }
}

/**
 * Ends this process the way the command ended, so that our parent sees what it saw (a
 * shell prints 141 for `shards exec -- yes | head -1`). node ignores some signals (SIGPIPE)
 * and handles others: adding and dropping a listener puts back the default action.
 */
function dieOf(signal: NodeJS.Signals): void {
  // SIGKILL (the OOM killer, stop's escalation) takes no listener: node refuses one.
  if (signal !== "SIGKILL") {
    process.on(signal, () => {});
    process.removeAllListeners(signal);
  }
  process.kill(process.pid, signal);
  // Still here (a signal that does not end a process by default): the shell's convention.
  process.exitCode = 128 + constants.signals[signal];
}

export default defineCommand({
  meta: { name: "exec", description: "Run a command with the worktree's port variables" },
  args: {
    command: {
      type: "positional",
      required: false,
      description: "-- then the command and its arguments: shards exec -- npm run dev",
    },
  },
  async run({ rawArgs }) {
    const dash = rawArgs.indexOf("--");
    const [command, ...argv] = dash === -1 ? rawArgs : rawArgs.slice(dash + 1);
    if (!command) throw new UsageError("no command given: use shards exec -- <command> [args...]");
    const { wt, config } = await worktreeAndConfig(undefined);
    const { env } = await ensureAllocation(wt, config);
    const child = spawn(command, argv, { stdio: "inherit", env: { ...process.env, ...env } });
    const forward = (signal: NodeJS.Signals) => {
      if (!(KEYBOARD.includes(signal) && inForegroundGroup())) child.kill(signal);
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    const outcome = await new Promise<number | NodeJS.Signals>((done) => {
      child.on("error", (error: NodeJS.ErrnoException) => {
        logger.error(`cannot run ${command}: ${error.code === "ENOENT" ? "command not found" : error.message}`);
        done(error.code === "ENOENT" ? 127 : 126);
      });
      child.on("exit", (status, signal) => done(signal ?? status ?? 1));
    });
    for (const signal of FORWARDED) process.off(signal, forward);
    if (typeof outcome === "number") process.exitCode = outcome;
    else dieOf(outcome);
  },
});
