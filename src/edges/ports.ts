// What listens on TCP right now: the one way shards asks the system (for `list`, `which`,
// the prune/destroy warnings and rule 7 `probe`). On Linux it reads /proc and starts no
// process, since `list` must stay fast; elsewhere it asks `lsof`.

import { closeSync, openSync, readdirSync, readlinkSync, readSync } from "node:fs";
import { createRequire } from "node:module";
import { type Allocation, formatRange, type Range } from "../core/records.ts";
import { readText } from "./files.ts";
import { findWorktree, present } from "./worktree.ts";

export interface Listener {
  port: number;
  address: string;
  pid: number | null;
  command: string | null;
  /** The owner's working directory, where the system tells. */
  cwd: string | null;
}

export interface Socket {
  port: number;
  address: string;
  inode: number;
}

const LISTEN = "0A";
const COMMAND_MAX = 80;

/** Pure: parse the text of /proc/net/tcp or /proc/net/tcp6; returns sockets in state 0A (LISTEN). Malformed lines are skipped. */
export function parseProcNetTcp(text: string): Socket[] {
  const sockets: Socket[] = [];
  for (const line of text.split("\n")) {
    // "sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ..."
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^\d+:$/.test(f[0]!) || f[3] !== LISTEN) continue;
    const m = /^([0-9A-Fa-f]{8}|[0-9A-Fa-f]{32}):([0-9A-Fa-f]{4})$/.exec(f[1]!);
    if (!m || !/^\d+$/.test(f[9]!)) continue;
    const port = parseInt(m[2]!, 16);
    if (port === 0) continue;
    sockets.push({ port, address: procAddress(m[1]!), inode: Number(f[9]) });
  }
  return sockets;
}

/**
 * The kernel prints the address as 32-bit words, each in host (little-endian) byte order.
 * IPv6 comes out as eight full hex groups (`0:0:0:0:0:0:0:1`): valid text, compared as is;
 * `displayAddress` shortens it only where a person reads it.
 */
function procAddress(hex: string): string {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    for (let b = 6; b >= 0; b -= 2) bytes.push(parseInt(hex.slice(w + b, w + b + 2), 16));
  }
  if (bytes.length === 4) return bytes.join(".");
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(":");
}

/** `::1` for `0:0:0:0:0:0:0:1` (node's inet_ntop). node:net loads only here: ~2 ms, and probe runs in the hook. */
export async function displayAddress(address: string): Promise<string> {
  if (!address.includes(":")) return address;
  const { SocketAddress } = await import("node:net");
  return new SocketAddress({ address, family: "ipv6" }).address;
}

const TABLE_CHUNK = Buffer.allocUnsafe(65536);
/** Room for a line of the tables and then some (they are 150-200 bytes). */
const LINE_ROOM = 512;

/**
 * A /proc/net/tcp{,6} table in as few reads as the kernel allows: each read walks the whole
 * connection hash (262,144 buckets on a 24 GiB machine, ~1.7 ms a walk here), and so does
 * the read that only finds the end. The kernel fills a read up to a page (4 KiB or more) and
 * stops short of that only at the end: a read that left more than a line's room was the last.
 */
function readProcTable(file: string): string | null {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch {
    return null;
  }
  try {
    let text = "";
    for (;;) {
      const n = readSync(fd, TABLE_CHUNK, 0, TABLE_CHUNK.length, null);
      text += TABLE_CHUNK.toString("latin1", 0, n);
      if (n < 4096 - LINE_ROOM) return text;
    }
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Listening sockets from /proc, or null when this system has no /proc/net/tcp. */
function procSockets(): Socket[] | null {
  const v4 = readProcTable("/proc/net/tcp");
  const v6 = readProcTable("/proc/net/tcp6"); // absent when IPv6 is disabled
  if (v4 === null && v6 === null) return null;
  return [...parseProcNetTcp(v4 ?? ""), ...parseProcNetTcp(v6 ?? "")];
}

interface Owner {
  pid: number;
  command: string | null;
  /** The process's working directory: which worktree it runs in. */
  cwd: string | null;
}

/**
 * Map socket inodes to their process by walking /proc/<pid>/fd. Each process's fd directory
 * is read once, and the walk stops as soon as every inode has an owner. Processes we may not
 * look into (other users', when not root) throw on readdir and are skipped: their sockets
 * stay unowned, which callers show as "not visible".
 */
function socketOwners(inodes: Set<number>): Map<number, Owner> {
  const owners = new Map<number, Owner>();
  if (inodes.size === 0) return owners;
  let pids: number[];
  try {
    pids = readdirSync("/proc")
      .filter((n) => /^\d+$/.test(n))
      .map(Number);
  } catch {
    return owners;
  }
  // Newest first: dev servers are younger than the system's daemons, so the walk ends sooner.
  pids.sort((a, b) => b - a);
  for (const pid of pids) {
    if (owners.size === inodes.size) break;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    let owner: Owner | undefined; // read lazily: most processes own none of them
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // fd closed while we looked
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      const inode = m ? Number(m[1]) : -1;
      if (!inodes.has(inode) || owners.has(inode)) continue;
      owner ??= { pid, command: processCommand(pid), cwd: procCwd(pid) };
      owners.set(inode, owner);
    }
  }
  return owners;
}

/** A process's working directory; null when it is gone or deleted (nothing can run "from" it). */
function procCwd(pid: number): string | null {
  try {
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    return cwd.endsWith(" (deleted)") ? null : cwd;
  } catch {
    return null;
  }
}

/** `node server.js`: the command line with NULs as spaces, argv[0] shortened to its base name; comm when there is none (kernel threads, zombies). */
function processCommand(pid: number): string | null {
  const argv = (readText(`/proc/${pid}/cmdline`) ?? "").split("\0");
  while (argv.length > 0 && argv[argv.length - 1] === "") argv.pop();
  return commandLine(argv) ?? shortCommand(readText(`/proc/${pid}/comm`) ?? "");
}

function commandLine(argv: string[]): string | null {
  // Processes that rewrite their title (e.g. "nginx: master process") put spaces in argv[0]; leave those alone.
  if (argv[0] && !argv[0].includes(" ")) argv[0] = argv[0].slice(argv[0].lastIndexOf("/") + 1);
  return shortCommand(argv.join(" "));
}

/** One printable line of at most COMMAND_MAX characters: any process may put escape codes in its argv, and we print it. */
function shortCommand(text: string): string | null {
  const line = text.replace(/[\s\u0000-\u001f\u007f-\u009f]+/g, " ").trim();
  if (!line) return null;
  return line.length > COMMAND_MAX ? `${line.slice(0, COMMAND_MAX - 1)}…` : line;
}

/**
 * Pure: parse `lsof -nP -iTCP -sTCP:LISTEN -F pcnt` output. Field output, because the
 * columns of the default output truncate commands and shift with content.
 * Lines: "p<pid>" starts a process, "c<command>", "f<fd>" starts a file, "t<IPv4|IPv6>",
 * "n<address>:<port>" (address "*" for any, "[::1]" for IPv6).
 */
export function parseLsof(text: string): Listener[] {
  const out: Listener[] = [];
  let pid: number | null = null;
  let command: string | null = null;
  let type = "";
  for (const line of text.split("\n")) {
    const tag = line[0];
    const value = line.slice(1);
    if (tag === "p") [pid, command] = [Number(value) || null, null];
    else if (tag === "c") command = shortCommand(value);
    else if (tag === "f") type = "";
    else if (tag === "t") type = value;
    else if (tag === "n") {
      const m = /^(.*):(\d+)$/.exec(value.replace(/\s.*$/, "")); // drop any " (LISTEN)"
      if (!m) continue;
      const port = Number(m[2]);
      if (port < 1 || port > 65535) continue;
      let address = m[1]!.replace(/^\[(.*)\]$/, "$1");
      if (address === "*") address = type === "IPv6" ? "::" : "0.0.0.0";
      out.push({ port, address, pid, command, cwd: null });
    }
  }
  return out;
}

/** Runs a system tool for its stdout; "" when it is missing or fails (lsof exits 1 when nothing matches). */
function output(command: string, args: string[]): string {
  // Loaded here, on the lsof path only: node:child_process costs ~2.5 ms to load, and the
  // hook's probe (Linux: /proc) must not pay it.
  const load = createRequire(import.meta.filename);
  const { execFileSync } = load("node:child_process") as typeof import("node:child_process");
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"], timeout: 5000 });
  } catch (error) {
    return String((error as { stdout?: unknown }).stdout ?? "");
  }
}

/**
 * Pure: `ps -o pid=,command=` lines to pid -> command. The whole line, as the process table
 * has it: lsof's own command is the main thread's name, which Node 24 sets to "MainThread".
 */
export function parsePs(text: string): Map<number, string> {
  const commands = new Map<number, string>();
  for (const line of text.split("\n")) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    const command = m && commandLine(m[2]!.split(" "));
    if (command) commands.set(Number(m[1]), command);
  }
  return commands;
}

/** Pure: `lsof -d cwd -Fpn` to pid -> working directory. */
export function parseLsofCwd(text: string): Map<number, string> {
  const cwds = new Map<number, string>();
  let pid = 0;
  for (const line of text.split("\n")) {
    if (line[0] === "p") pid = Number(line.slice(1));
    else if (line[0] === "n" && pid > 0) cwds.set(pid, line.slice(1));
  }
  return cwds;
}

/** The non-Linux path (exported so tests can run it wherever lsof exists). [] when lsof is missing. */
export function lsofListeners(): Listener[] {
  const found = parseLsof(output("lsof", ["-nP", "-w", "-iTCP", "-sTCP:LISTEN", "-Fpcnt"]));
  const pids = [...new Set(found.map((l) => l.pid).filter((p) => p !== null))].join(",");
  if (!pids) return found;
  const commands = parsePs(output("ps", ["-ww", "-o", "pid=,command=", "-p", pids]));
  const cwds = parseLsofCwd(output("lsof", ["-a", "-nP", "-w", "-d", "cwd", "-p", pids, "-Fpn"]));
  return found.map((l) => ({ ...l, command: commands.get(l.pid!) ?? l.command, cwd: cwds.get(l.pid!) ?? null }));
}

/** Same port+address once (a socket shared by processes keeps an entry with a known owner); by port, IPv4 first. */
function dedupe(list: Listener[]): Listener[] {
  const seen = new Map<string, Listener>();
  for (const l of list) {
    const key = `${l.address}|${l.port}`;
    const prior = seen.get(key);
    if (!prior || (prior.pid === null && l.pid !== null)) seen.set(key, l);
  }
  const order = (a: Listener, b: Listener) => a.port - b.port || ipv4First(a, b) || a.address.localeCompare(b.address);
  return [...seen.values()].sort(order);
}

/**
 * Everything listening on TCP now (IPv4 and IPv6, any address), sorted by port. `owners`:
 * the ports to find the process of (pid, command, cwd; null where the system does not tell):
 * finding one walks /proc, so `list` asks only for the ports of its ranges.
 */
export function listeners(opts: { owners?: boolean | ((port: number) => boolean) } = {}): Listener[] {
  const sockets = procSockets();
  if (sockets === null) return dedupe(lsofListeners()); // lsof names owners anyway
  const wanted = typeof opts.owners === "function" ? opts.owners : () => opts.owners === true;
  // Inode 0 is a socket no file refers to any more: nobody to find, so don't scan for it.
  const inodes = new Set(sockets.filter((s) => s.inode > 0 && wanted(s.port)).map((s) => s.inode));
  const owners = socketOwners(inodes);
  return dedupe(
    sockets.map(({ port, address, inode }) => {
      const owner = owners.get(inode);
      return { port, address, pid: owner?.pid ?? null, command: owner?.command ?? null, cwd: owner?.cwd ?? null };
    }),
  );
}

/** The set of ports something listens on (for probe). Cheap: no owner lookup. */
export function listeningPorts(): Set<number> {
  return new Set(listeners().map((l) => l.port));
}

/** The top level of the worktree a listener's process runs in (from its cwd), or null. */
export function runsIn(l: Listener): string | null {
  if (l.cwd === null) return null;
  try {
    return findWorktree(l.cwd).root;
  } catch {
    return null; // not inside a worktree, or its directory went away
  }
}

export interface Intruder {
  port: number;
  pid: number;
  command: string | null;
  /** The worktree the process runs in. */
  from: string;
}

/**
 * `runsIn` for many listeners: each working directory is looked up once (a dev server's
 * processes, and the servers started from one shell, share one), as `list` asks for every range.
 */
export function runsInOnce(): (l: Listener) => string | null {
  const roots = new Map<string | null, string | null>();
  return (l) => {
    let root = roots.get(l.cwd);
    if (root === undefined) {
      root = runsIn(l);
      roots.set(l.cwd, root);
    }
    return root;
  };
}

/** Listeners on `range` whose process runs from another worktree than `root` (started in the wrong shell). */
export function intruders(range: Range, root: string, live: Listener[], worktreeOf = runsIn): Intruder[] {
  const found: Intruder[] = [];
  for (const l of live) {
    if (l.port < range.start || l.port > range.end || l.pid === null) continue;
    const from = worktreeOf(l);
    if (from === null || from === root || found.some((i) => i.pid === l.pid && i.port === l.port)) continue;
    found.push({ port: l.port, pid: l.pid, command: l.command, from });
  }
  return found;
}

const isIpv6 = (address: string) => address.includes(":");

/**
 * Ports held by two different processes, one on an IPv4 address and one on an IPv6 one
 * (127.0.0.1 and ::1): `localhost` reaches one or the other by chance. Unknown owners
 * are never counted: one process may well listen on both.
 */
export function splitPorts(live: Listener[]): number[] {
  const split = new Set<number>();
  for (const a of live) {
    if (a.pid === null || isIpv6(a.address)) continue;
    const other = (b: Listener) => b.port === a.port && b.pid !== null && b.pid !== a.pid && isIpv6(b.address);
    if (live.some(other)) split.add(a.port);
  }
  return [...split].sort((x, y) => x - y);
}

export interface PortProblem {
  message: string;
  fix: string;
}

const ipv4First = (a: Listener, b: Listener) => Number(isIpv6(a.address)) - Number(isIpv6(b.address));
const kills = (held: Listener[]) => [...new Set(held.map((l) => `\`kill ${l.pid}\``))].join(" or ");
const who = (l: Pick<Listener, "pid" | "command">) => `pid ${l.pid} (${l.command ?? "unknown"})`;

/** `pid 42 (node a.js) on 127.0.0.1 and pid 43 (node b.js) on ::1`: a port's known holders, IPv4 first. */
export async function holders(found: Listener[]): Promise<string> {
  const known = found.filter((l) => l.pid !== null).sort(ipv4First);
  const parts = await Promise.all(known.map(async (l) => `${who(l)} on ${await displayAddress(l.address)}`));
  return parts.join(" and ");
}

/** For doctor: every intruder and split port on the ranges of `records`, each with its fix. */
export async function portProblems(records: Allocation[]): Promise<PortProblem[]> {
  const live = listeners({ owners: (port) => records.some((r) => port >= r.start && port <= r.end) });
  const problems: PortProblem[] = [];
  for (const r of records) {
    const { path } = present(r);
    const range = `the range ${formatRange(r)} of ${path}`;
    for (const i of intruders(r, path, live))
      problems.push({
        message: `port ${i.port} of ${range} is held by ${who(i)}, which runs from another worktree (${i.from})`,
        fix:
          `stop it (\`kill ${i.pid}\`) and start it again in ${i.from} ` +
          "on that worktree's own ports (`shards exec`)",
      });
    for (const port of splitPorts(live.filter((l) => l.port >= r.start && l.port <= r.end))) {
      const held = live.filter((l) => l.port === port && l.pid !== null).sort(ipv4First);
      problems.push({
        message: `port ${port} of ${range} is split: ${await holders(held)}, so localhost reaches one or the other`,
        fix: `stop one of them (${kills(held)}), or start both on one address`,
      });
    }
  }
  return problems;
}

export type StopAction = "stopped" | "killed" | "skipped" | "would stop";

export interface StopResult {
  pid: number | null;
  /** The first of `ports`. */
  port: number;
  ports: number[];
  command: string | null;
  action: StopAction;
  /** Where the process runs: its worktree, else its cwd; null when not visible. */
  from: string | null;
}

/** How long a server gets between SIGTERM and SIGKILL. */
const STOP_GRACE_MS = 5000;

/**
 * Stops the servers of the worktree at `root`: every process listening on `range` whose
 * cwd is inside that worktree gets SIGTERM, then SIGKILL if it is alive after 5 s. Any
 * other listener (another worktree's, no worktree's, another user's) is only named.
 */
export async function stopServers(root: string, range: Range, { dryRun }: { dryRun: boolean }): Promise<StopResult[]> {
  const inRange = (port: number) => port >= range.start && port <= range.end;
  const results: StopResult[] = [];
  for (const l of listeners({ owners: inRange })) {
    if (!inRange(l.port)) continue;
    const same = results.find((r) => (l.pid === null ? r.pid === null && r.port === l.port : r.pid === l.pid));
    if (same) {
      if (!same.ports.includes(l.port)) same.ports.push(l.port);
      continue;
    }
    const home = l.pid === null ? null : runsIn(l);
    const ours = home === root;
    const action: StopAction = !ours ? "skipped" : dryRun ? "would stop" : "stopped";
    results.push({ pid: l.pid, port: l.port, ports: [l.port], command: l.command, action, from: home ?? l.cwd });
  }
  // Each target with its start time: a pid that died and was reused within the 5 s is not ours to kill.
  const targets = results.filter((r) => r.action === "stopped").map((r) => ({ r, started: startTime(r.pid!) }));
  const alive = ({ r, started }: (typeof targets)[number]) => isAlive(r.pid!) && startTime(r.pid!) === started;
  for (const { r } of targets) signal(r.pid!, "SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  while (targets.some(alive) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 50));
  for (const target of targets) {
    if (!alive(target)) continue;
    signal(target.r.pid!, "SIGKILL");
    target.r.action = "killed";
  }
  return results;
}

/** /proc/<pid>/stat's starttime (field 22), which tells two processes of one pid apart; null off Linux. */
function startTime(pid: number): string | null {
  const stat = readText(`/proc/${pid}/stat`);
  return stat?.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
}

/** `stopped pid 42 (node server.js) on port 3010`, and why when nothing was done. */
export function stopLine(r: StopResult): string {
  const on = `on port${r.ports.length > 1 ? "s" : ""} ${r.ports.join(", ")}`;
  if (r.pid === null) return `skipped port ${r.ports.join(", ")}: held by a process not visible to this user\n`;
  const what = `pid ${r.pid} (${r.command ?? "unknown"}) ${on}`;
  if (r.action === "killed") return `killed ${what}: still running 5 s after SIGTERM\n`;
  if (r.action !== "skipped") return `${r.action} ${what}\n`;
  if (r.from === null) return `skipped ${what}: its working directory is not visible to this user\n`;
  return `skipped ${what}: it runs in ${r.from}, not in this worktree\n`;
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already (ESRCH): nothing left to stop.
  }
}

/** A zombie has exited (its parent has not reaped it yet): it holds no port, so it counts as stopped. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  const stat = readText(`/proc/${pid}/stat`);
  return stat?.[stat.lastIndexOf(")") + 2] !== "Z";
}
