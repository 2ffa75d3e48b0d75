// Where save/export write their tar: stdout (never a terminal, as Docker
// refuses) or a file, made under a temp name and renamed into place only
// when the tar is complete.
import type { Writable } from 'node:stream';

export function refuseTerminal(): void {
  if (process.stdout.isTTY) {
    throw new Error('cowardly refusing to save to a terminal. Use the -o flag or redirect');
  }
}

export async function writeOutput(file: string | undefined, write: (out: Writable) => Promise<void>): Promise<void> {
  if (!file) {
    await write(process.stdout);
    return;
  }
  const { createWriteStream } = await import('node:fs');
  const { rename, rm } = await import('node:fs/promises');
  const { finished } = await import('node:stream/promises');
  const tmp = `${file}.tsrun-${process.pid}.tmp`;
  const out = createWriteStream(tmp, { mode: 0o600 });
  try {
    await write(out);
    out.end();
    await finished(out);
    await rename(tmp, file);
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}
