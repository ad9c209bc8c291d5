// Bundled CommonJS, built for a fast cold start (the hook runs shards in every
// `git worktree add`): CommonJS loads synchronously, without the ESM loader's per-file
// async work, and each command's modules (and the node builtins they use) are initialised
// only when that command runs. c12 stays external: imported only when a config file exists.
//   dist/cli.cjs            the `shards` bin: picks one of the two bundles below
//   dist/main.cjs           the CLI (citty and every command)
//   dist/post-checkout.cjs  the hook's path alone: the allocation, nothing else to compile

import { chmodSync, rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist", { recursive: true, force: true });

await build({
  entryPoints: {
    cli: "src/cli.ts",
    main: "src/main.ts",
    "post-checkout": "src/commands/post-checkout.ts",
  },
  outdir: "dist",
  outExtension: { ".js": ".cjs" },
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["c12", "./main.cjs", "./post-checkout.cjs"],
  define: { "import.meta.dirname": "__dirname", "import.meta.filename": "__filename" },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: "none",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
});
chmodSync("dist/cli.cjs", 0o755);
// The shell snippets, from their one source (shell/src/).
await import("./build-shell.mjs");
