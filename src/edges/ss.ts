// The hook's answer for probe (rule 7): it runs `ss -Htn state listening` beside node's
// start and pipes in what ss printed, then `# ss: done`. ss asks the kernel for listening
// sockets alone (~0.1 ms), where /proc/net/tcp{,6} walks every connection slot (~5 ms). Kept
// apart from ports.ts, which the hook then does not load.
import { readFileSync } from "node:fs";

const SS_DONE = "# ss: done";

/**
 * Pure: the ports in what `ss -Htn state listening` printed (`Recv-Q Send-Q Local Peer`, the
 * local address as `127.0.0.1:3000`, `[::]:3000`, `*:3000` or `127.0.0.53%lo:53`), followed by
 * the hook's line that says ss answered. Null when that line is missing or any line does not
 * read so: then nothing here is trusted.
 */
export function parseSs(text: string): Set<number> | null {
  const lines = text.split("\n");
  if (lines.pop() !== "" || lines.pop() !== SS_DONE) return null;
  const ports = new Set<number>();
  for (const line of lines) {
    const port = /^\s*\d+\s+\d+\s+\S*:(\d{1,5})\s+\S+\s*$/.exec(line)?.[1];
    if (port === undefined) return null;
    ports.add(Number(port));
  }
  return ports;
}

/** The hook's answer on stdin (`--listening-on-stdin`); null without it (no ss, or it failed): the probe reads /proc itself. */
export function pipedListening(): Set<number> | null {
  let text: string;
  try {
    text = readFileSync(0, "latin1");
  } catch {
    return null;
  }
  return parseSs(text);
}
