// One bundled CommonJS file, dist/cli.cjs: the hook starts it on every new worktree, so it
// must load fast. CommonJS loads synchronously, without the ESM loader's per-file async
// work, and each command's modules (and the node builtins they use) are initialised only
// when that command runs. c12 stays external: it is imported only when a config file exists.
import { build } from "esbuild";
import { chmodSync, rmSync } from "node:fs";

rmSync("dist", { recursive: true, force: true });

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/cli.cjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "cjs",
  external: ["c12"],
  define: { "import.meta.dirname": "__dirname" },
  minifySyntax: true,
  minifyWhitespace: true,
  legalComments: "none",
  banner: { js: "#!/usr/bin/env node" },
  logLevel: "warning",
});
chmodSync("dist/cli.cjs", 0o755);
