// Connected unix socket pairs for an exec's stdio: one end stays in the
// service as a stream, the other's fd goes to the process (the addon dups
// it onto 0, 1 or 2 and makes it blocking there). Node has no socketpair(2),
// so each pair is a listen + connect + accept on a socket file in a
// directory only root can enter, unlinked at once. A socket rather than a
// pipe: the service's end() of stdin is a shutdown the process reads as EOF.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';

export interface SocketPair {
  /** The service's end. */
  ours: Socket;
  /** The fd of the other end, for the process. */
  theirs: number;
  /** Closes the service's copy of the other end (once the process has its own). */
  release(): void;
}

export async function socketPair(runroot: string): Promise<SocketPair> {
  const base = join(runroot, 'api');
  mkdirSync(base, { recursive: true, mode: 0o700 });
  const dir = mkdtempSync(join(base, 'pair-'));
  const server = createServer({ pauseOnConnect: true });
  try {
    const path = join(dir, 's');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const ours = connect(path);
    await new Promise<void>((resolve, reject) => {
      ours.once('connect', () => resolve());
      ours.once('error', reject);
    });
    const peer = await accepted;
    const fd = (peer as unknown as { _handle?: { fd?: number } })._handle?.fd;
    if (typeof fd !== 'number' || fd < 0) {
      peer.destroy();
      ours.destroy();
      throw new Error('socketpair: no fd for the accepted socket');
    }
    return { ours, theirs: fd, release: () => void peer.destroy() };
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
