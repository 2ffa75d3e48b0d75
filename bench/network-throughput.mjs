// One bulk TCP send for bench/network.sh: connect to HOST:PORT, write MIB
// MiB of zeros as fast as the socket takes them (1 MiB writes, waiting for
// 'drain' on backpressure), half-close, and wait until the peer closes too
// (so the last byte has been read by the sink, not just queued here).
//
//   node bench/network-throughput.mjs HOST PORT MIB
//
// Prints one line: "<MiB/s> <ms> <bytes>". The clock starts once connected;
// a refused connection is retried for a few seconds, since the sink is
// `nc -l` in a loop and has a gap between two listens.
import { connect } from 'node:net';

const [host, portArg, mibArg] = process.argv.slice(2);
const port = Number(portArg);
const mib = Number(mibArg);
if (!host || !Number.isInteger(port) || !(mib > 0)) {
  console.error('usage: node network-throughput.mjs HOST PORT MIB');
  process.exit(2);
}

const chunk = Buffer.alloc(1 << 20);
const total = Math.round(mib * chunk.length);

function once() {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, noDelay: true });
    let t0 = 0n;
    let sent = 0;
    s.on('error', reject);
    s.on('connect', () => {
      t0 = process.hrtime.bigint();
      const pump = () => {
        while (sent < total) {
          const n = Math.min(chunk.length, total - sent);
          sent += n;
          if (!s.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void s.once('drain', pump);
        }
        s.end();
      };
      pump();
    });
    s.resume(); // the sink sends nothing, but never let a read stall the close
    s.on('close', (hadError) => {
      if (hadError) return;
      if (sent < total) return reject(new Error(`connection closed after ${sent} of ${total} bytes`));
      resolve(Number(process.hrtime.bigint() - t0) / 1e6);
    });
  });
}

const deadline = Date.now() + 5000;
for (;;) {
  try {
    const ms = await once();
    console.log(`${(total / 1048576 / (ms / 1000)).toFixed(1)} ${ms.toFixed(1)} ${total}`);
    break;
  } catch (err) {
    if (err.code !== 'ECONNREFUSED' || Date.now() > deadline) {
      console.error(`network-throughput: ${host}:${port}: ${err.message}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
