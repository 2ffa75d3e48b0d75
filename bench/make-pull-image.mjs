#!/usr/bin/env node
// Builds the image bench/pull.sh pulls: an OCI image layout with LAYERS
// gzip layers (default 5) totalling about TOTAL_MB uncompressed (default 70),
// made of real files of this machine (/usr/lib, /usr/share: ELF, Python,
// locale data, docs, ...) plus a little pseudo-random data per layer so gzip
// has work of every kind. Files are picked deterministically (sorted walk),
// so two runs on one host build the same layer contents.
//
//   node bench/make-pull-image.mjs LAYOUT_DIR [LAYERS] [TOTAL_MB]
//
// Prints one line: "<layers> <uncompressed bytes> <compressed bytes> <files>".
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const [layout, layersArg = '5', mbArg = '70'] = process.argv.slice(2);
if (!layout) {
  console.error('usage: make-pull-image.mjs LAYOUT_DIR [LAYERS] [TOTAL_MB]');
  process.exit(2);
}
const LAYERS = Number(layersArg);
const TOTAL = Number(mbArg) * 1024 * 1024;
const RANDOM_PER_LAYER = Math.floor(TOTAL / LAYERS / 16); // ~6 % incompressible-ish
const MAX_FILE = 4 << 20;

// Sorted walk, regular files up to MAX_FILE, symlinks kept as symlinks.
function* walk(dir) {
  let names;
  try {
    names = fs.readdirSync(dir).sort();
  } catch {
    return;
  }
  for (const n of names) {
    const p = path.join(dir, n);
    let st;
    try {
      st = fs.lstatSync(p);
    } catch {
      continue;
    }
    if (st.isDirectory()) yield* walk(p);
    else if ((st.isFile() && st.size <= MAX_FILE) || st.isSymbolicLink()) yield { p, size: st.isFile() ? st.size : 0 };
  }
}

// One group of sources per layer (cycled when there are more layers): a
// layer of shared libraries, then small files (Python, JS, Perl, zoneinfo,
// docs, man pages), as in a typical distro-based image. A group that runs
// dry is topped up from /usr/share.
const groups = [
  ['/usr/lib/x86_64-linux-gnu'],
  ['/usr/lib/python3', '/usr/lib/python3.11'],
  ['/usr/lib/node_modules', '/usr/share/perl', '/usr/share/zoneinfo', '/usr/share/i18n'],
  ['/usr/share/doc'],
  ['/usr/share/man', '/usr/share/locale'],
];
const seen = new Set();
const perLayer = Math.floor(TOTAL / LAYERS) - RANDOM_PER_LAYER;
const layerFiles = [];
for (let i = 0; i < LAYERS; i++) {
  const l = { files: [], bytes: 0 };
  layerFiles.push(l);
  fill: for (const src of [...groups[i % groups.length], '/usr/share']) {
    for (const f of walk(src)) {
      if (seen.has(f.p)) continue;
      seen.add(f.p);
      l.files.push(f.p);
      l.bytes += f.size;
      if (l.bytes >= perLayer) break fill;
    }
  }
}

fs.rmSync(layout, { recursive: true, force: true });
const blobs = path.join(layout, 'blobs', 'sha256');
fs.mkdirSync(blobs, { recursive: true });
const stage = fs.mkdtempSync(path.join(path.dirname(path.resolve(layout)), '.pull-image-'));
const writeBlob = (buf) => {
  const hex = createHash('sha256').update(buf).digest('hex');
  fs.writeFileSync(path.join(blobs, hex), buf);
  return { digest: `sha256:${hex}`, size: buf.length };
};
const sha = (buf) => `sha256:${createHash('sha256').update(buf).digest('hex')}`;

const layers = [];
const diffIds = [];
let plainTotal = 0;
let gzTotal = 0;
let fileCount = 0;
try {
  for (let i = 0; i < LAYERS; i++) {
    const { files } = layerFiles[i];
    // Pseudo-random data: hex text of random bytes (compresses about 2:1,
    // like logs or minified assets) and one raw random file (like a .gz inside).
    const extra = path.join(stage, `l${i}`, 'opt', `data${i}`);
    fs.mkdirSync(extra, { recursive: true });
    fs.writeFileSync(path.join(extra, 'blob.bin'), randomBytes(RANDOM_PER_LAYER >> 1));
    fs.writeFileSync(path.join(extra, 'blob.hex'), randomBytes(RANDOM_PER_LAYER >> 2).toString('hex'));
    const list = path.join(stage, `l${i}.list`);
    fs.writeFileSync(list, files.map((f) => f.slice(1)).join('\n') + '\n');
    // GNU tar, paths relative to /, parent dirs implied; numeric owners.
    const tar = execFileSync(
      'sh',
      ['-c', `tar -c --numeric-owner --sort=name -C / -T "$1" -C "$2" opt`, 'sh', list, path.join(stage, `l${i}`)],
      { maxBuffer: 1 << 30 },
    );
    const gz = execFileSync('gzip', ['-6', '-n', '-c'], { input: tar, maxBuffer: 1 << 30 });
    diffIds.push(sha(tar));
    layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...writeBlob(gz) });
    plainTotal += tar.length;
    gzTotal += gz.length;
    fileCount += files.length + 2;
  }
} finally {
  fs.rmSync(stage, { recursive: true, force: true });
}

const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch] ?? process.arch;
const config = Buffer.from(
  JSON.stringify({
    architecture: arch,
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: diffIds.map((_, i) => ({ created_by: `bench layer ${i}` })),
  }),
);
const cfg = writeBlob(config);
const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...cfg },
    layers,
  }),
);
const man = writeBlob(manifest);
fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
fs.writeFileSync(
  path.join(layout, 'index.json'),
  JSON.stringify({
    schemaVersion: 2,
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...man, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
  }),
);
console.log(`${LAYERS} ${plainTotal} ${gzTotal} ${fileCount}`);
