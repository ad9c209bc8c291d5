// The listener reader: pure parses of /proc/net/tcp* and lsof text, then real TCP servers
// (in this process and in a child) that must show up with their owner and vanish on close.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, realpathSync } from "node:fs";
import { type AddressInfo, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  displayAddress,
  listeners,
  listeningPorts,
  lsofListeners,
  parseLsof,
  parseLsofCwd,
  parseProcNetTcp,
  parsePs,
} from "../src/edges/ports.ts";
import { parseSs } from "../src/edges/ss.ts";

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 41231 1 0000000000000000 100 0 0 10 0
   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41232 1 0000000000000000 100 0 0 10 0
   2: 0100007F:0BB8 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000  1000        0 51234 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:0BB9 0100007F:D2F1 06 00000000:00000000 03:00000F3C 00000000     0        0 0 3 0000000000000000
   4: 0A00020F:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 41233 1 0000000000000000 100 0 0 10 0
garbage line that is not a socket
   5: 0100007F:ZZZZ 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   6: 0100007F 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   7: 0100007F:0BBA 00000000:0000 0A
`;

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 61001 1 0000000000000000 100 0 0 10 0
   1: 00000000000000000000000000000000:1F91 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 61002 1 0000000000000000 100 0 0 10 0
   2: 0000000000000000FFFF00000100007F:1389 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 61003 1 0000000000000000 100 0 0 10 0
   3: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 61004 1 0000000000000000 100 0 0 10 0
   4: 000080FE00000000FF005002AB8967C5:2710 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 61005 1 0000000000000000 100 0 0 10 0
   5: 00000000000000000000000001000000:0BB8 00000000000000000000000001000000:C350 01 00000000:00000000 00:00000000 00000000  1000        0 61006 1 0000000000000000 20 4 30 10 -1
   6: 0000000000000000000000000100000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 61007 1
`;

test("parseProcNetTcp: IPv4 LISTEN sockets, little-endian addresses, everything else skipped", () => {
  assert.equal(parseProcNetTcp(TCP), [
    { port: 3000, address: "127.0.0.1", inode: 41231 },
    { port: 8080, address: "0.0.0.0", inode: 41232 },
    { port: 80, address: "15.2.0.10", inode: 41233 },
  ]);
});

test("parseProcNetTcp: IPv6 as eight hex groups; displayAddress shortens them as people write them", async () => {
  const sockets = parseProcNetTcp(TCP6);
  assert.equal(sockets, [
    { port: 3000, address: "0:0:0:0:0:0:0:1", inode: 61001 },
    { port: 8081, address: "0:0:0:0:0:0:0:0", inode: 61002 },
    { port: 5001, address: "0:0:0:0:0:ffff:7f00:1", inode: 61003 },
    { port: 443, address: "2001:db8:0:0:0:0:0:1", inode: 61004 },
    { port: 10000, address: "fe80:0:0:0:250:ff:c567:89ab", inode: 61005 },
  ]);
  const shown = await Promise.all(sockets.map((s) => displayAddress(s.address)));
  assert.equal(shown, ["::1", "::", "::ffff:127.0.0.1", "2001:db8::1", "fe80::250:ff:c567:89ab"]);
  assert.is(await displayAddress("127.0.0.1"), "127.0.0.1");
});

test("parseProcNetTcp: empty input, header only, CRLF and junk", () => {
  assert.equal(parseProcNetTcp(""), []);
  assert.equal(parseProcNetTcp(TCP.split("\n")[0]!), []);
  assert.equal(parseProcNetTcp("\n\n   \nnot: a socket\n"), []);
  assert.equal(parseProcNetTcp(TCP.replace(/\n/g, "\r\n")).length, 3);
});

test("parseSs: ports of every address form, trusted only after the hook's last line", () => {
  const ss = [
    "0      128      0.0.0.0:2024  0.0.0.0:*",
    "0      511    127.0.0.1:13450 0.0.0.0:*",
    "0      511         [::]:3000     [::]:*",
    "0      511        [::1]:3001     [::]:*",
    "0      4096           *:80          *:*",
    "0      4096 127.0.0.53%lo:53  0.0.0.0:*",
    "0      128 [fe80::1]%eth0:22     [::]:*",
  ].join("\n");
  assert.equal(
    [...parseSs(`${ss}\n# ss: done\n`)!].sort((a, b) => a - b),
    [22, 53, 80, 2024, 3000, 3001, 13450],
  );
  assert.equal([...parseSs("# ss: done\n")!], [], "nothing listens");
  assert.is(parseSs(""), null, "no ss: nothing printed");
  assert.is(parseSs(`${ss}\n`), null, "ss failed or was cut off");
  assert.is(parseSs(`State Recv-Q\n${ss}\n# ss: done\n`), null, "a line that does not read as ss's");
});

test("parseSs reads what this machine's ss prints, and finds what /proc finds", async () => {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  try {
    const run = spawnSync("ss", ["-Htn", "state", "listening"], { encoding: "utf8" });
    if (run.error) throw new Error("ss (iproute2) is needed here");
    const fromSs = parseSs(`${run.stdout}# ss: done\n`);
    assert.ok(fromSs, run.stdout);
    assert.ok(fromSs!.has((server.address() as AddressInfo).port));
    for (const port of listeningPorts()) assert.ok(fromSs!.has(port), `${port} is in ss's answer`);
  } finally {
    server.close();
  }
});

test("parseLsof: field output with IPv4, IPv6, wildcards and several processes", () => {
  const text = [
    "p101",
    "cnode",
    "f23",
    "tIPv4",
    "n127.0.0.1:3000",
    "f24",
    "tIPv6",
    "n*:3001",
    "f25",
    "tIPv4",
    "n*:3002",
    "p202",
    "cpostgres",
    "f7",
    "tIPv6",
    "n[::1]:5432",
    "f8",
    "tIPv6",
    "nnot-an-address",
    "",
  ].join("\n");
  assert.equal(parseLsof(text), [
    { port: 3000, address: "127.0.0.1", pid: 101, command: "node", cwd: null },
    { port: 3001, address: "::", pid: 101, command: "node", cwd: null },
    { port: 3002, address: "0.0.0.0", pid: 101, command: "node", cwd: null },
    { port: 5432, address: "::1", pid: 202, command: "postgres", cwd: null },
  ]);
  assert.equal(parseLsof(""), []);
});

test("parsePs and parseLsofCwd: the process table's command line and lsof's cwd, per pid", () => {
  const ps = parsePs("  101 /usr/local/bin/node server.js --port 3000\n202 postgres: checkpointer\n\nnoise\n");
  assert.equal(
    [...ps],
    [
      [101, "node server.js --port 3000"],
      [202, "postgres: checkpointer"],
    ],
  );
  const cwds = parseLsofCwd("p101\nfcwd\nn/work/repo a\np202\nfcwd\nn/\n");
  assert.equal(
    [...cwds],
    [
      [101, "/work/repo a"],
      [202, "/"],
    ],
  );
});

async function serve(host: string): Promise<Server> {
  const server = createServer();
  server.listen(0, host);
  await once(server, "listening");
  return server;
}

const portOf = (server: Server) => (server.address() as AddressInfo).port;

async function close(server: Server): Promise<void> {
  server.close();
  await once(server, "close");
}

test("listeners: real servers on 127.0.0.1, 0.0.0.0 and ::1 are found with our pid, and gone after close", async () => {
  const hosts = ["127.0.0.1", "0.0.0.0", "::1"];
  const servers = await Promise.all(hosts.map(serve));
  const ports = servers.map(portOf);
  try {
    const found = listeners({ owners: true });
    const live = listeningPorts();
    for (const [i, host] of hosts.entries()) {
      const hit = found.find((l) => l.port === ports[i]);
      assert.ok(hit, `listener on ${host}:${ports[i]} not found`);
      assert.is(await displayAddress(hit.address), host);
      assert.is(hit.pid, process.pid);
      assert.ok(hit.command?.includes("node"), `command ${hit.command}`);
      assert.ok(live.has(ports[i]!), `listeningPorts lacks ${ports[i]}`);
    }
    // Without owners: the same sockets, no owner lookup.
    const bare = listeners();
    for (const port of ports) {
      const hit = bare.find((l) => l.port === port);
      assert.ok(hit);
      assert.is(hit.pid, null);
      assert.is(hit.command, null);
    }
  } finally {
    await Promise.all(servers.map(close));
  }
  const live = listeningPorts();
  const found = listeners({ owners: true });
  for (const port of ports) {
    assert.not.ok(live.has(port), `${port} still in listeningPorts after close`);
    assert.not.ok(
      found.some((l) => l.port === port),
      `${port} still in listeners after close`,
    );
  }
});

test("listeners: entries are unique per port+address and sorted by port", async () => {
  const server = await serve("127.0.0.1");
  try {
    const all = listeners({ owners: true });
    const keys = all.map((l) => `${l.address}|${l.port}`);
    assert.is(new Set(keys).size, keys.length);
    assert.equal(
      all.map((l) => l.port),
      [...all.map((l) => l.port)].sort((a, b) => a - b),
    );
  } finally {
    await close(server);
  }
});

/** A node child listening on 127.0.0.1; `args` end up in its command line. */
async function childServer(
  args: string[],
  { cwd, before = "" }: { cwd?: string; before?: string } = {},
): Promise<{ child: ChildProcess; port: number }> {
  // stdout.write, not console.log: uvu sets FORCE_COLOR, which would colour a logged number.
  const code =
    before +
    'const s=require("net").createServer().listen(0,"127.0.0.1",()=>process.stdout.write(s.address().port+"\\n"))';
  const child = spawn(process.execPath, ["-e", "eval(process.env.CODE)", ...args], {
    cwd,
    env: { ...process.env, CODE: code },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk) => {
      out += chunk;
      if (out.includes("\n")) resolve(Number(out.trim()));
    });
    child.on("exit", (code) => reject(new Error(`child server exited (${code}) before listening`)));
  });
  return { child, port };
}

async function stop(child: ChildProcess): Promise<void> {
  child.kill();
  await once(child, "exit");
}

test("listeners: a server in a child process is found with the child's pid and command", async () => {
  const { child, port } = await childServer(["demo"]);
  try {
    const hit = listeners({ owners: true }).find((l) => l.port === port);
    assert.ok(hit, `child listener on ${port} not found`);
    assert.is(hit.pid, child.pid);
    assert.is(hit.command, "node -e eval(process.env.CODE) demo"); // argv[0] shortened to "node"
    assert.is(hit.cwd, process.cwd());
    assert.ok(listeningPorts().has(port));
  } finally {
    await stop(child);
  }
  assert.not.ok(listeningPorts().has(port), "child's port still listening after exit");
});

test("listeners: a command line is one printable line of at most 80 characters", async () => {
  const { child, port } = await childServer(["\x1b[2J\x1b]0;title\x07", "two\nlines", "x".repeat(100)]);
  try {
    const command = listeners({ owners: true }).find((l) => l.port === port)?.command;
    assert.ok(command, "no command for the child");
    assert.is(command.length, 80);
    assert.ok(command.startsWith("node -e eval(process.env.CODE) [2J ]0;title two lines xxx"), command);
    assert.ok(command.endsWith("x…"), command);
    assert.not.match(command, /[\u0000-\u001f\u007f]/);
  } finally {
    await stop(child);
  }
});

const hasLsof = spawnSync("lsof", ["-v"], { stdio: "ignore" }).error === undefined;

/** Where lsof is missing the non-Linux reader goes untested: allowed on a laptop, never in CI. */
function lsofOrSkip(): boolean {
  if (!hasLsof && process.env.CI) assert.unreachable("lsof is not installed, and CI must test the non-Linux reader");
  return hasLsof;
}

test("lsofListeners: the non-Linux path finds our server too (where lsof is installed)", async () => {
  if (!lsofOrSkip()) return;
  const server = await serve("::1");
  try {
    const hit = lsofListeners().find((l) => l.port === portOf(server));
    assert.ok(hit, "lsof did not report our server");
    assert.is(hit.address, "::1");
    assert.is(hit.pid, process.pid);
    assert.ok(hit.command?.startsWith("node"), `command ${hit.command}`);
    assert.is(hit.cwd, process.cwd());
  } finally {
    await close(server);
  }
});

test("lsofListeners: the command line comes from the process table, not the thread name (Node 24: MainThread)", async () => {
  if (!lsofOrSkip()) return;
  const cwd = realpathSync(mkdtempSync(join(tmpdir(), "shards-cwd-")));
  // What Node 24 does to its main thread, done by hand: lsof reports this name as the command.
  const { child, port } = await childServer(["demo"], {
    cwd,
    before: 'require("fs").writeFileSync("/proc/self/comm","MainThread");',
  });
  try {
    const hit = lsofListeners().find((l) => l.port === port);
    assert.ok(hit, `lsof did not report the child on ${port}`);
    assert.is(hit.pid, child.pid);
    assert.is(hit.command, "node -e eval(process.env.CODE) demo");
    assert.is(hit.cwd, cwd);
  } finally {
    await stop(child);
  }
});

test.run();
