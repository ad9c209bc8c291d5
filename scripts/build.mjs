// Bundled CommonJS, built for a fast cold start (the hook runs shards in every
// `git worktree add`): CommonJS loads synchronously, without the ESM loader's per-file
// async work, and each command's modules (and the node builtins they use) are initialised
// only when that command runs. c12 stays external: imported only when a config file exists.
//   dist/cli.cjs            the `shards` bin: loads one of the two bundles below, with V8's code cache
//   dist/main.cjs           the CLI (citty and every command)
//   dist/post-checkout.cjs  the hook's path alone: the allocation, nothing else to compile
//   dist/c12.cjs            c12 for the bundles (below)

import { createHash } from "node:crypto";
import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const BUNDLES = { main: "src/main.ts", "post-checkout": "src/commands/post-checkout.ts" };

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
  define: { "import.meta.dirname": "__dirname", "import.meta.filename": "__filename" },
  minifySyntax: true,
  minifyWhitespace: true,
  minifyIdentifiers: true,
  legalComments: "none",
  logLevel: "warning",
};

// cli.cjs compiles the bundles with node:vm, whose code cannot run `import()` (not without
// an experimental flag or warning): esbuild turns dynamic imports into require, and c12,
// which is ESM only, is reached through dist/c12.cjs, which node's own loader compiles.
const C12 = `"use strict";
// c12 is ESM only; the bundles, compiled by node:vm, cannot import() it: this file does.
exports.loadConfig = async (options) => (await import("c12")).loadConfig(options);
`;
const c12ThroughShim = {
  name: "c12-through-shim",
  setup(b) {
    b.onResolve({ filter: /^c12$/ }, () => ({ path: "./c12.cjs", external: true }));
  },
};

rmSync("dist", { recursive: true, force: true });
await build({ ...common, entryPoints: BUNDLES, supported: { "dynamic-import": false }, plugins: [c12ThroughShim] });
writeFileSync("dist/c12.cjs", C12);

const ids = {};
for (const name of Object.keys(BUNDLES)) {
  const text = readFileSync(`dist/${name}.cjs`, "utf8");
  if (/\bimport\(/.test(text)) throw new Error(`dist/${name}.cjs holds an import(), which node:vm cannot run`);
  ids[name] = createHash("sha256").update(text).digest("hex").slice(0, 16);
}
await build({
  ...common,
  entryPoints: { cli: "src/cli.ts" },
  define: { ...common.define, BUNDLE_IDS: JSON.stringify(ids) },
  banner: { js: "#!/usr/bin/env node" },
});
chmodSync("dist/cli.cjs", 0o755);
// The shell snippets, from their one source (shell/src/).
await import("./build-shell.mjs");
