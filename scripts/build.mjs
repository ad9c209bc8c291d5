// One bundled ESM file: the hook starts it on every new worktree, so it must load fast.
// c12 stays external: it is imported only when a config file exists.
import { build } from "esbuild";
import { chmodSync } from "node:fs";

await build({
  entryPoints: ["src/cli.ts"],
  outfile: "dist/cli.mjs",
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  external: ["c12"],
  minifySyntax: true,
  legalComments: "none",
  // Bundled CommonJS dependencies use require() for node builtins, and __filename.
  banner: {
    js: [
      "#!/usr/bin/env node",
      "import { createRequire as __createRequire } from 'node:module';",
      "const require = __createRequire(import.meta.url);",
      "const __filename = new URL(import.meta.url).pathname;",
    ].join("\n"),
  },
  logLevel: "warning",
});
chmodSync("dist/cli.mjs", 0o755);
