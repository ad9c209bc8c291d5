// Intruders and split ports, with real servers in real worktrees: a server started from the
// wrong worktree shows on the range it intrudes on, and one port held by two processes on
// 127.0.0.1 and ::1 is called split, by list, which and doctor.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { json, repo, type Sandbox, sandbox, shards } from "./_helpers.ts";
import { end, poolEnv, serveFrom } from "./_listeners.ts";

/** doctor's port checks (the sandbox has no hook installed: those checks are not ours). */
function portChecks(sb: Sandbox, cwd: string) {
  return json(shards(sb, cwd, ["doctor", "--json"])).checks.filter((c: { name: string }) => c.name === "ports");
}

interface Row {
  branch: string;
  listening: number[];
  intruders: { port: number; pid: number; command: string; from: string }[];
  split: number[];
}

test("a server started from another worktree is an intruder on the range it listens in; one from its own is not", async () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  json(shards(sb, main, ["allocate", "--json"]));
  const feature = json(shards(sb, main, ["create", "feature", "--json"]));
  const sub = join(feature.path, "web");
  mkdirSync(sub);
  const servers = [
    await serveFrom(main, feature.start + 1, "127.0.0.1"), // the wrong shell
    await serveFrom(sub, feature.start, "::1"), // its own worktree, from a subdirectory
    await serveFrom(sb.dir, feature.start + 3, "127.0.0.1"), // from no worktree at all
  ];
  try {
    const rows = json<Row[]>(shards(sb, main, ["list", "--json"]));
    const [mainRow, featureRow] = rows;
    assert.equal(featureRow!.listening, [feature.start, feature.start + 1, feature.start + 3]);
    assert.equal(featureRow!.intruders, [
      {
        port: feature.start + 1,
        pid: servers[0]!.pid,
        command: `node -e eval(process.env.CODE) server ${feature.start + 1}`,
        from: main,
      },
    ]);
    assert.equal([mainRow!.intruders, mainRow!.split, featureRow!.split], [[], [], []]);
    const table = shards(sb, main, ["list"]).stdout;
    assert.match(
      table,
      `${feature.start + 1} (intruder: pid ${servers[0]!.pid} node -e eval(process.env.CODE) server ${feature.start + 1}, from ${main})`,
    );

    const intruder = json(shards(sb, feature.path, ["which", String(feature.start + 1), "--json"]));
    assert.equal(
      [intruder.owner.path, intruder.pid, intruder.from, intruder.split],
      [feature.path, servers[0]!.pid, main, false],
    );
    const text = shards(sb, feature.path, ["which", String(feature.start + 1)]).stdout;
    assert.match(
      text,
      `running in ${main}\nintruder: it runs from another worktree (${main}); stop it and start it again in ${main} on that worktree's own ports (\`shards exec\`)\n`,
    );

    const own = json(shards(sb, main, ["which", String(feature.start), "--json"]));
    assert.equal([own.pid, own.from], [servers[1]!.pid, feature.path]);
    assert.not.match(shards(sb, main, ["which", String(feature.start)]).stdout, "intruder");
    const nowhere = json(shards(sb, main, ["which", String(feature.start + 3), "--json"]));
    assert.equal([nowhere.pid, nowhere.from], [servers[2]!.pid, null]);

    const command = `node -e eval(process.env.CODE) server ${feature.start + 1}`;
    assert.equal(portChecks(sb, main), [
      {
        name: "ports",
        ok: false,
        message: `port ${feature.start + 1} of the range ${feature.start}-${feature.end} of ${feature.path} is held by pid ${servers[0]!.pid} (${command}), which runs from another worktree (${main})`,
        fix: `stop it (\`kill ${servers[0]!.pid}\`) and start it again in ${main} on that worktree's own ports (\`shards exec\`)`,
      },
    ]);
  } finally {
    await end(servers);
  }
});

test("a port held by two processes on 127.0.0.1 and ::1 is split; one process on both is not", async () => {
  const sb = sandbox(poolEnv());
  const main = repo(sb);
  const { start } = json(shards(sb, main, ["allocate", "--json"]));
  const servers = [await serveFrom(main, start + 2, "127.0.0.1"), await serveFrom(main, start + 2, "::1")];
  servers.push(await serveFrom(main, start + 4, ["127.0.0.1", "::1"]));
  try {
    const [row] = json<Row[]>(shards(sb, main, ["list", "--json"]));
    assert.equal([row!.listening, row!.split, row!.intruders], [[start + 2, start + 4], [start + 2], []]);
    assert.match(shards(sb, main, ["list"]).stdout, `${start + 2} (split: two processes on IPv4 and IPv6)`);

    const split = json(shards(sb, main, ["which", String(start + 2), "--json"]));
    assert.equal([split.split, split.listening, split.from, split.pid], [true, true, main, servers[0]!.pid]); // IPv4's first
    const said = shards(sb, main, ["which", String(start + 2)]).stdout;
    const [v4, v6] = servers
      .slice(0, 2)
      .map((s) => `pid ${s.pid} (node -e eval(process.env.CODE) server ${start + 2})`);
    assert.match(said, `split: ${v4} on 127.0.0.1 and ${v6} on ::1; localhost reaches one or the other\n`);

    assert.is(json(shards(sb, main, ["which", String(start + 4), "--json"])).split, false);

    const [check, ...more] = portChecks(sb, main);
    assert.equal(more, []);
    assert.is(
      check!.message,
      `port ${start + 2} of the range ${start}-${start + 9} of ${main} is split: ${v4} on 127.0.0.1 and ${v6} on ::1, so localhost reaches one or the other`,
    );
    assert.is(
      check!.fix,
      `stop one of them (\`kill ${servers[0]!.pid}\` or \`kill ${servers[1]!.pid}\`), or start both on one address`,
    );
    const text = shards(sb, main, ["doctor"]);
    assert.is(text.status, 1);
    assert.match(text.stderr, `shards: ${check!.message}; fix: ${check!.fix}\n`);
  } finally {
    await end(servers);
  }
});

test.run();
