// `npm run demo`: shards at work in a throwaway world, never the user's. A temp directory
// with its own HOME, SHARDS_HOME and git config; a repository, the hook installed, three
// worktrees made with plain `git worktree add` (the hook gives each its ports), then
// `shards list`. Everything is deleted at the end, also on failure or Ctrl-C.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const cli = resolve(import.meta.dirname, "../dist/cli.cjs");
const world = realpathSync(mkdtempSync(join(tmpdir(), "shards-demo-")));
const home = join(world, "home");
const app = join(world, "app");

const env = {
  PATH: process.env.PATH,
  LANG: process.env.LANG ?? "C.UTF-8",
  TERM: process.env.TERM,
  HOME: home,
  SHARDS_HOME: join(world, "state"),
  XDG_STATE_HOME: join(home, ".local/state"),
  XDG_CONFIG_HOME: join(home, ".config"),
  GIT_CONFIG_GLOBAL: join(home, ".gitconfig"),
  GIT_CONFIG_NOSYSTEM: "1",
};

function cleanUp() {
  rmSync(world, { recursive: true, force: true });
}
process.on("SIGINT", () => {
  cleanUp();
  process.exit(130);
});

/** Shows a command as typed, then runs it with its output on ours; stops the demo on failure. */
function step(shown, command, args, cwd) {
  process.stdout.write(`\n$ ${shown}\n`);
  const r = spawnSync(command, args, { cwd, env, stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error(`${shown} failed (exit ${r.status ?? r.signal})`);
}

const shards = (args, cwd = app) => step(`shards ${args.join(" ")}`, process.execPath, [cli, ...args], cwd);
const git = (args, cwd = app) => step(`git ${args.join(" ")}`, "git", args, cwd);

try {
  mkdirSync(app, { recursive: true });
  mkdirSync(home, { recursive: true });
  writeFileSync(
    env.GIT_CONFIG_GLOBAL,
    "[user]\n\tname = Demo\n\temail = demo@example.com\n[init]\n\tdefaultBranch = main\n",
  );
  console.log(`a throwaway world in ${world} (its own HOME, SHARDS_HOME and git config)`);
  git(["init", "-q"]);
  git(["commit", "-q", "--allow-empty", "-m", "init"]);
  shards(["install"]);
  for (const branch of ["feature-a", "feature-b", "feature-c"])
    git(["worktree", "add", "-q", "-b", branch, `../app-${branch}`]);
  shards(["list"]);
  shards(["env"], join(world, "app-feature-b"));
  console.log(`\ndone; ${world} is deleted (nothing was written outside it)`);
} catch (error) {
  console.error(`demo: ${error.message}`);
  process.exitCode = 1;
} finally {
  cleanUp();
}
