// The plain layout: our hook file in the hooks directory. A hook that was there is renamed
// to post-checkout.shards-previous (a rename keeps its bytes, mode, even a symlink) and our
// hook runs it; uninstall renames it back.
import { lstatSync, renameSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { ShardsError } from "../../errors.ts";
import { makeDirectory, readText, writeFileAtomic } from "../files.ts";
import { isOurs, PREVIOUS_SUFFIX } from "./render.ts";

export type InstallOutcome = "installed" | "chained" | "updated" | "unchanged";
export type UninstallOutcome = "removed" | "restored" | "nothing" | "foreign";

/** Whether anything (a file, a symlink, even a dangling one) is at `path`. */
export function present(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

export function writeHook(file: string, content: string, mode?: number): void {
  makeDirectory(dirname(file));
  // Atomic: git may run the hook at any moment, and must never see half a file.
  writeFileAtomic(file, content, { mode });
}

export function installPlain(file: string, content: string): InstallOutcome {
  if (present(file) && lstatSync(file).isDirectory())
    throw new ShardsError(`${file} is a directory; git runs a file there`);
  if (isOurs(readText(file))) {
    if (readText(file) === content) return "unchanged";
    writeHook(file, content, 0o755);
    return "updated";
  }
  const previous = file + PREVIOUS_SUFFIX;
  if (!present(file)) {
    writeHook(file, content, 0o755);
    return "installed";
  }
  if (present(previous))
    throw new ShardsError(
      `both ${file} and ${previous} exist, and the first is not shards' hook; keep one of them (merge what you need), then run shards install`,
    );
  renameSync(file, previous);
  writeHook(file, content, 0o755);
  return "chained";
}

export function uninstallPlain(file: string): UninstallOutcome {
  const previous = file + PREVIOUS_SUFFIX;
  if (present(file) && !isOurs(readText(file))) return present(previous) ? "foreign" : "nothing";
  const ours = present(file);
  if (ours) rmSync(file);
  if (present(previous)) {
    renameSync(previous, file);
    return "restored";
  }
  return ours ? "removed" : "nothing";
}
