// `top` (tsrun) and `ps` (tsrun-oci): the host's ps, limited to a
// container's processes, as docker top and runc ps print them.
/** ps's header and the lines of `pids`; null when these ps options print no PID column. */
export async function hostPs(psArgs: string[], pids: Iterable<number>): Promise<{ header: string; lines: string[] } | null> {
  // child_process (with net and stream) loads for this verb only.
  const { execFile } = await import('node:child_process');
  const { promisify } = await import('node:util');
  const { stdout } = await promisify(execFile)('ps', psArgs.length ? psArgs : ['-ef'], { maxBuffer: 64 << 20 });
  const [header = '', ...rest] = stdout.split('\n');
  const pidCol = header.trim().split(/\s+/).indexOf('PID');
  if (pidCol < 0) return null;
  const mine = new Set(pids);
  return { header, lines: rest.filter((l) => l.trim() && mine.has(Number(l.trim().split(/\s+/)[pidCol]))) };
}
