// The husky layout (core.hooksPath is `.husky/_`, which husky rewrites on every
// `npm install`): a marked block at the top of `.husky/post-checkout`, the file husky runs.
import { rmSync } from "node:fs";
import { readText } from "../files.ts";
import { NULL_IDS } from "../worktree.ts";
import { type InstallOutcome, type UninstallOutcome, writeHook } from "./plain.ts";
import { hookRegion, type Runtime } from "./render.ts";

const BLOCK_BEGIN = "# >>> shards >>>";
const BLOCK_END = "# <<< shards <<<";
const CREATED = "(shards created this file)";

/** The block for `.husky/post-checkout`: the null-id test inline, so no node starts on ordinary checkouts. */
export function renderHuskyBlock(rt: Runtime, created: boolean): string {
  const indented = hookRegion(rt).replace(/^(?=.)/gm, "\t");
  const note = created ? ` ${CREATED}` : "";
  return (
    `${BLOCK_BEGIN} added by \`shards install\`${note}; \`shards uninstall\` removes it\n` +
    `case $1 in\n${NULL_IDS.join(" | ")})\n${indented}\t;;\nesac\n${BLOCK_END}\n`
  );
}

export interface Block {
  start: number;
  end: number;
  text: string;
  created: boolean;
}

export function findBlock(text: string): Block | null {
  // The markers count only at the start of a line.
  const after = text.startsWith(BLOCK_BEGIN) ? -1 : text.indexOf(`\n${BLOCK_BEGIN}`);
  if (after < 0 && !text.startsWith(BLOCK_BEGIN)) return null;
  const start = after + 1;
  const endMark = text.indexOf(`\n${BLOCK_END}`, start) + 1;
  if (endMark === 0) return null;
  const end = endMark + BLOCK_END.length + (text[endMark + BLOCK_END.length] === "\n" ? 1 : 0);
  const firstLine = text.slice(start, text.indexOf("\n", start));
  return { start, end, text: text.slice(start, end), created: firstLine.includes(CREATED) };
}

/** Right after a `#!` line (ending in a newline), else at the very top: removing it gives back the same bytes. */
function insertAt(text: string): number {
  const newline = text.indexOf("\n");
  return text.startsWith("#!") && newline >= 0 ? newline + 1 : 0;
}

export function installHusky(file: string, rt: Runtime): InstallOutcome {
  const existing = readText(file);
  if (existing === null) {
    writeHook(file, renderHuskyBlock(rt, true), 0o755);
    return "installed";
  }
  const block = findBlock(existing);
  if (block) {
    const wanted = renderHuskyBlock(rt, block.created);
    if (block.text === wanted) return "unchanged";
    writeHook(file, existing.slice(0, block.start) + wanted + existing.slice(block.end));
    return "updated";
  }
  // At the top: our block never fails (husky runs the file with `sh -e`), and the user's
  // commands below it get the new worktree's variables.
  const at = insertAt(existing);
  writeHook(file, existing.slice(0, at) + renderHuskyBlock(rt, false) + existing.slice(at));
  return "installed";
}

export function uninstallHusky(file: string): UninstallOutcome {
  const existing = readText(file);
  const block = existing === null ? null : findBlock(existing);
  if (existing === null || !block) return "nothing";
  const rest = existing.slice(0, block.start) + existing.slice(block.end);
  if (block.created && rest === "") rmSync(file);
  else writeHook(file, rest);
  return "removed";
}
