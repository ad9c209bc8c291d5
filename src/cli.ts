// The `shards` entry: it only chooses which bundle to load. The git hook runs
// `shards post-checkout` inside every `git worktree add`, so that path gets a bundle of its
// own with just the allocation (no citty, no other commands): less to compile at each start.
import { createRequire } from "node:module";

const bundle = process.argv[2] === "post-checkout" ? "./post-checkout.cjs" : "./main.cjs";
createRequire(import.meta.filename)(bundle);
