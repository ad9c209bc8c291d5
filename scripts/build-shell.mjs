// Writes the four shell snippets (shell/shards.{bash,zsh,fish,direnv.sh}) from one source:
//   shell/src/shards.sh    the algorithm for bash, zsh and direnv (all three run it), with
//                          `#if <shell>...`, `#elif`, `#else`, `#endif` lines for what differs
//   shell/src/shards.fish  the same steps in fish's language, function for function
// Both share the header (shell/src/about.txt: what the snippets do, step by step) and the
// checks a line of shards.env must pass (CHECKS below), so a fix is made in one place.
// `node scripts/build-shell.mjs --check` exits 1 when a committed snippet is out of date.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SRC = join(ROOT, "shell/src");

/** SPEC's "Environment of a worktree": what a key and its value must be. */
const KEY_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_";
const DIGITS = "0123456789";
const MAX_DIGITS = "5";
const NAME_FIRST = "abcdefghijklmnopqrstuvwxyz0123456789";
const NAME_CHARS = `${NAME_FIRST}_-`;
// Spelt out, no ranges: neither a locale nor nocasematch can widen them. The sh snippets
// match with the lists, fish with the regular expressions made of the same lists.
const CHECKS = {
  KEY_CHARS,
  DIGITS,
  MAX_DIGITS,
  NAME_FIRST,
  NAME_CHARS,
  KEY_RE: `^(SHARD_[${KEY_CHARS}]+|PORT)$`,
  DIGITS_RE: `^[${DIGITS}]{1,${MAX_DIGITS}}$`,
  NAME_RE: `^[${NAME_FIRST}][${NAME_CHARS}]*$`,
};

const SHELLS = [
  { shell: "bash", src: "shards.sh", out: "shards.bash" },
  { shell: "zsh", src: "shards.sh", out: "shards.zsh" },
  { shell: "direnv", src: "shards.sh", out: "shards.direnv.sh" },
  { shell: "fish", src: "shards.fish", out: "shards.fish" },
];

/** Keeps the lines meant for `shell`: `#if a b`, `#elif c`, `#else`, `#endif`, nested or not. */
function select(text, shell, file) {
  const out = [];
  const frames = []; // one per open #if: does its branch keep lines, was a branch taken
  const keeping = () => frames.every((f) => f.keep);
  for (const [i, line] of text.split("\n").entries()) {
    const m = /^\s*#(if|elif|else|endif)\b(.*)$/.exec(line);
    if (!m) {
      if (keeping()) out.push(line);
      continue;
    }
    const [, word, rest] = m;
    const names = rest.trim().split(/\s+/).filter(Boolean);
    const top = frames.at(-1);
    if (word !== "if" && !top) throw new Error(`${file}:${i + 1}: #${word} without #if`);
    if (word === "if") frames.push({ keep: names.includes(shell), taken: names.includes(shell) });
    else if (word === "endif") frames.pop();
    else {
      top.keep = !top.taken && (word === "else" || names.includes(shell));
      top.taken ||= top.keep;
    }
  }
  if (frames.length) throw new Error(`${file}: #if without #endif`);
  return out.join("\n");
}

/** Fills @NAME@ with CHECKS[NAME] and @ABOUT@ with the shared header. */
function fill(text, shell, file) {
  return text.replace(/@([A-Z_]+)@/g, (whole, name) => {
    if (name === "ABOUT") return select(readFileSync(join(SRC, "about.txt"), "utf8"), shell, "about.txt").trimEnd();
    if (name in CHECKS) return CHECKS[name];
    throw new Error(`${file}: unknown placeholder ${whole}`);
  });
}

function render(shell) {
  const { src } = SHELLS.find((s) => s.shell === shell);
  const text = readFileSync(join(SRC, src), "utf8");
  return `${fill(select(text, shell, src), shell, src).trimEnd()}\n`;
}

const check = process.argv.includes("--check");
let stale = 0;
for (const { shell, out } of SHELLS) {
  const path = join(ROOT, "shell", out);
  const text = render(shell);
  let old = null;
  try {
    old = readFileSync(path, "utf8");
  } catch {}
  if (old === text) continue;
  if (check) {
    process.stderr.write(`shell/${out} is out of date: run npm run build (it runs scripts/build-shell.mjs)\n`);
    stale++;
  } else writeFileSync(path, text);
}
process.exitCode = stale ? 1 : 0;
