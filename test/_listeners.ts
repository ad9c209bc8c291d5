// Real dev servers for the live-port tests: node child processes listening on a given port
// and address, started from a given directory (the worktree they "run in").
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";

export interface Served {
  child: ChildProcess;
  pid: number;
}

const CODE = `
if (process.env.IGNORE_TERM) process.on("SIGTERM", () => {});
const hosts = process.env.HOSTS.split(" ");
let ready = 0;
const listening = () => ++ready === hosts.length && process.stdout.write("ready\\n");
for (const host of hosts) require("net").createServer().listen(Number(process.env.PORT), host, listening);
`;

/** `node -e ... server <port>` in `cwd`, resolved once it listens on each host. `ignoreTerm`: it shrugs off SIGTERM. */
export async function serveFrom(
  cwd: string,
  port: number,
  host: string | string[],
  { ignoreTerm = false }: { ignoreTerm?: boolean } = {},
): Promise<Served> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOSTS: [host].flat().join(" "), CODE };
  if (ignoreTerm) env.IGNORE_TERM = "1";
  const child = spawn(process.execPath, ["-e", "eval(process.env.CODE)", "server", String(port)], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  await new Promise<void>((resolve, reject) => {
    let err = "";
    child.stderr!.on("data", (d) => (err += d));
    child.stdout!.on("data", () => resolve());
    const early = (code: number | null) => new Error(`server on ${host}:${port} exited (${code}) early: ${err}`);
    child.on("exit", (code) => reject(early(code)));
  });
  return { child, pid: child.pid! };
}

export function alive(s: Served): boolean {
  return s.child.exitCode === null && s.child.signalCode === null;
}

/** Ends a server the test started (SIGKILL: some ignore SIGTERM), waiting for its exit. */
export async function end(servers: Served[]): Promise<void> {
  await Promise.all(
    servers.filter(alive).map(async (s) => {
      const exited = once(s.child, "exit");
      s.child.kill("SIGKILL");
      await exited;
    }),
  );
}

/** A pool away from common dev ports, different for each test so that runs never collide. */
export function poolEnv(): NodeJS.ProcessEnv {
  const base = 20000 + Math.floor(Math.random() * 1000) * 10;
  return { SHARDS_BASE_PORT: String(base), SHARDS_MAX_PORT: String(base + 99) };
}
