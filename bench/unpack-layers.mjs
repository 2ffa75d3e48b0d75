#!/usr/bin/env node
// Unpack-only timing for bench/pull.sh: runs dist's unpackLayer (the code
// `tsrun pull` runs after a blob is verified) on local layer blobs, one after
// the other, each into a fresh directory under WORK_DIR, and prints what
// the stages cost on the same bytes:
//   read+gunzip        the blob decompressed, bytes dropped
//   read+gunzip+sha256 the same, plus the diffID hash
//   unpackLayer        gunzip + sha256 + tar parsing + writing every entry
// Each is the best of RUNS (default 3), in ms, with MB/s of uncompressed
// tar bytes. Output: one "key value" line per number, for pull.sh to read.
//
//   node bench/unpack-layers.mjs WORK_DIR RUNS BLOB...
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

const repo = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { unpackLayer } = await import(path.join(repo, 'dist/image/unpack/layer.js'));
const { native } = await import(path.join(repo, 'dist/native/binding.js'));

const [work, runsArg, ...blobs] = process.argv.slice(2);
if (!work || !blobs.length) {
  console.error('usage: unpack-layers.mjs WORK_DIR RUNS BLOB...');
  process.exit(2);
}
const RUNS = Number(runsArg) || 3;
const MT = 'application/vnd.oci.image.layer.v1.tar+gzip';
const now = () => Number(process.hrtime.bigint()) / 1e6;

async function gunzipOnly(hash) {
  let bytes = 0;
  for (const b of blobs) {
    const h = hash ? createHash('sha256') : null;
    await pipeline(fs.createReadStream(b, { highWaterMark: 1 << 20 }), zlib.createGunzip({ chunkSize: 128 << 10 }), async (src) => {
      for await (const c of src) {
        bytes += c.length;
        h?.update(c);
      }
    });
    h?.digest('hex');
  }
  return bytes;
}

let n = 0;
async function unpackAll() {
  let bytes = 0;
  for (const b of blobs) {
    const dir = path.join(work, `u${n++}`);
    fs.mkdirSync(dir, { recursive: true });
    const r = await unpackLayer({ blobPath: b, mediaType: MT, dir, native });
    bytes += r.size;
  }
  return bytes;
}

async function best(fn, clean) {
  let min = Infinity;
  let bytes = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = now();
    bytes = await fn();
    min = Math.min(min, now() - t);
    clean?.();
  }
  return { ms: min, bytes };
}

const cleanWork = () => {
  for (const d of fs.readdirSync(work)) fs.rmSync(path.join(work, d), { recursive: true, force: true });
};
const g = await best(() => gunzipOnly(false));
const gh = await best(() => gunzipOnly(true));
const u = await best(unpackAll, cleanWork);
const mbs = (r) => (r.bytes / 1048576 / (r.ms / 1000)).toFixed(1);
console.log(`bytes ${u.bytes}`);
console.log(`gunzip_ms ${g.ms.toFixed(0)} gunzip_mbs ${mbs(g)}`);
console.log(`hash_ms ${gh.ms.toFixed(0)} hash_mbs ${mbs(gh)}`);
console.log(`unpack_ms ${u.ms.toFixed(0)} unpack_mbs ${mbs(u)}`);
