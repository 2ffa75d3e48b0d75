// Seeing a client go away. A hijacked client that half-closes (its stdin
// ended) still reads the output; one that died looks the same to reads (an
// EOF), and a quiet container writes nothing that would fail. So after the
// EOF, a zero-length write probes the connection every second: on a unix
// socket the kernel refuses it (EPIPE) once the peer has closed its end
// entirely (unix_stream_sendmsg checks SEND_SHUTDOWN before it copies
// anything), and the connection is destroyed, which its owner sees as 'close'.
import type { Duplex } from 'node:stream';

const PROBE_MS = 1000;

export function watchPeer(conn: Duplex): void {
  let timer: NodeJS.Timeout | undefined;
  conn.on('error', () => conn.destroy());
  conn.once('end', () => {
    timer = setInterval(() => {
      if (conn.destroyed || conn.writableEnded) return void clearInterval(timer);
      conn.write(Buffer.alloc(0));
    }, PROBE_MS);
    timer.unref();
  });
  conn.once('close', () => clearInterval(timer));
}
