// The snippets as files: generated from shell/src/ and up to date, a `# Usage:` header each,
// shellcheck-clean (bash and the direnv lib), and no construct that bash 3.2 (macOS's
// /bin/bash) lacks. Debian packages no bash 3.2, so the last is checked on the text.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ROOT } from "./_helpers.ts";
import { need } from "./_tmux.ts";

const FILES = ["shards.bash", "shards.zsh", "shards.fish", "shards.direnv.sh"];
const BASH_FILES = ["shards.bash", "shards.direnv.sh"];
const read = (f: string) => readFileSync(join(ROOT, "shell", f), "utf8");

test("15.9: the committed snippets are what scripts/build-shell.mjs makes of shell/src/", () => {
  const r = spawnSync(process.execPath, [join(ROOT, "scripts/build-shell.mjs"), "--check"], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
});

test("15.9: each snippet is readable on its own: a # Usage: line first, then the steps", () => {
  for (const f of FILES) {
    const text = read(f);
    const head = text.split("\n").slice(0, 8).join("\n");
    assert.match(head, /^# Usage: /m, `${f} has no # Usage: line at the top`);
    for (const step of ["1. Find the git dir", "2. Read", "3. Check each line"])
      assert.ok(text.includes(step), `${f}: ${step}`);
    assert.not.match(text, /^\s*#(if|elif|else|endif)\b/m, `${f} still holds a build directive`);
    assert.not.match(text, /@[A-Z_]+@/, `${f} still holds a placeholder`);
  }
});

test("15.10: shellcheck passes on the bash snippet and the direnv lib", () => {
  if (!need("shellcheck")) return;
  for (const f of BASH_FILES) {
    const r = spawnSync("shellcheck", ["-s", "bash", join(ROOT, "shell", f)], { encoding: "utf8" });
    assert.is(r.status, 0, `${f}:\n${r.stdout}${r.stderr}`);
  }
});

/** What bash 3.2 does not have, or does differently. */
const BASH4: [RegExp, string][] = [
  [/\$\{?BASHOPTS\b/, "$BASHOPTS (bash 4.1)"],
  [/\$\{[#!]?\w+@[a-zA-Z]\}/, "${x@a} and other @ operators (bash 4.4)"],
  [/\b(declare|typeset|local)\s+-[a-zA-Z]*[An]/, "declare -A / -n (bash 4)"],
  [/\[\s*-\d+\s*\]/, "negative subscripts (bash 4.3)"],
  [/;;?&/, ";& and ;;& (bash 4)"],
  [/\b(mapfile|readarray|coproc)\b/, "mapfile, readarray, coproc (bash 4)"],
  [/\$\{\w+(,,|\^\^|,|\^)\}/, "case conversion ${x,,} (bash 4)"],
  [/\[\[\s+-v\s/, "[[ -v name ]] (bash 4.2)"],
  [/\|&|&>>/, "|& and &>> (bash 4)"],
  [/\{\w+\}[<>]/, "{fd}> redirections (bash 4.1)"],
  [/\bEPOCH(REAL)?TIME\b/, "$EPOCHREALTIME (bash 5)"],
  [/\b(local|declare)\s+-\s/, "local - (bash 4.4)"],
  [/\bwait\s+-n\b/, "wait -n (bash 4.3)"],
  [/\bprintf\s+-v\s+\w+\s+'%\(/, "printf %(...)T (bash 4.2)"],
];

/** The code of a bash file, comments taken out (a `#` after a space starts one). */
function code(text: string): string {
  return text
    .split("\n")
    .map((l) => l.replace(/(^|\s)#.*$/, ""))
    .join("\n");
}

test("15.10: the bash snippets use nothing bash 3.2 lacks", () => {
  for (const f of BASH_FILES) {
    const lines = code(read(f)).split("\n");
    for (const [pattern, what] of BASH4) {
      const at = lines.findIndex((l) => pattern.test(l));
      assert.is(at, -1, `${f}:${at + 1} uses ${what}: ${lines[at]}`);
    }
    // An empty array under set -u is "unbound" before bash 4.4: every "${a[@]}" of an
    // array that can be empty is guarded as ${a[@]+"${a[@]}"}.
    const unguarded = lines.findIndex((l) =>
      /(?<!\+)"\$\{(_shards_entries|_shards_checked_entries|watch)\[@\]\}"(?!\})/.test(l),
    );
    assert.is(unguarded, -1, `${f}:${unguarded + 1}: unguarded "\${a[@]}" of a maybe-empty array: ${lines[unguarded]}`);
  }
});

test("15.10: the construct check finds what it looks for (a control)", () => {
  const bad = 'x=${BASHOPTS}\ndeclare -A m\necho "${a[-1]}"\ncase x in x) ;& esac\ny=${PROMPT_COMMAND@a}\nmapfile z\n';
  const lines = code(bad).split("\n");
  for (const [pattern, what] of BASH4.slice(0, 6))
    assert.ok(
      lines.some((l) => pattern.test(l)),
      what,
    );
});

test.run();
