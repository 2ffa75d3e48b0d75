'use strict';
// Starts a tsrun binary from its bundle (dist/bundle/NAME.cjs, made by
// scripts/bundle.mjs), compiled from V8's code cache kept beside it; or,
// when there is no bundle or tsc wrote dist/ after it, from dist/'s modules.
// Plain CommonJS, because Node's ES module loader alone costs a verb
// several ms before any of our code runs.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
// This module's own class (the public node:module would load Node's ES module
// loader with it, ~0.5 ms).
const Module = module.constructor;

const dist = path.join(__dirname, '..', 'dist');

const VERB = Symbol.for('tsrun.verb');
const cacheName = (file, verb) => (typeof verb === 'string' && /^[a-z][a-z -]*$/.test(verb) ? `${file}.${verb.replace(/ /g, '-')}.v8cache` : undefined);

// Bundles and their caches mapped, not read (native/src/files/mapped.c:
// two copies into fresh memory saved, several ms a verb on some VMs);
// without it (not built, an older Node), read. The addon is handed on to
// the kernel facade (src/native/binding.ts), which reads state files with it.
let mapped;
function mapFiles() {
  try {
    const addon = { exports: {} };
    process.dlopen(addon, path.join(__dirname, '..', 'build', 'Release', 'tsrun-files.node'));
    return addon.exports;
  } catch {
    return undefined;
  }
}
const readOrNull = (f) => {
  if (mapped) return mapped.bytes(f); // undefined when missing or empty
  try {
    return fs.readFileSync(f);
  } catch {
    return undefined;
  }
};
// scripts/bundle.mjs writes a bundle already wrapped as CommonJS wraps a
// module, so V8 compiles the (mapped) file itself, not a wrapped copy.
const WRAPPED = '(function (exports, require, module, __filename, __dirname) { ';

// The verb a command line names, guessed before the shell has parsed it:
// the first word that is neither an option nor, after a --long option
// without '=', its value (tsrun's global options all take one); with none,
// `help` for --help (the root help, as `tsrun help` prints it).
function guessVerb(argv) {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') return argv[i + 1];
    if (!a.startsWith('-')) return a;
    if (a.startsWith('--') && !a.includes('=') && a !== '--help' && a !== '--version') i++;
  }
  return argv.includes('--help') || argv.includes('-h') ? 'help' : undefined;
}

// A cache file: MAGIC, a byte of the outcomes its runs have had (OK: exit
// 0, FAILED: any other), then V8's data (8 bytes in: still aligned).
const MAGIC = 'tsrunV8';
const OK = 1;
const FAILED = 2;
function readCache(f) {
  const b = readOrNull(f);
  if (!b || b.length <= 8 || b.toString('latin1', 0, 7) !== MAGIC) return undefined;
  return { data: b.subarray(8), seen: b[7] };
}

// Loads a bundle as a CommonJS module, from its code cache when V8 accepts
// it. A missing or rejected cache (another Node), or one no run of this
// outcome has written yet, is written once this process is done, from what
// it compiled (the cache's functions and the ones it lacked), so the next
// run finds them: a typo's error path is not in a cache a successful run
// wrote. Caches are kept per verb, each holding the functions its verb runs and
// no others: a chunk's under the verb the shell named on globalThis before
// loading it; the shell's (`shellVerb`, guessed from argv) under that verb
// once the shell has named it too (so a mistyped verb never gets a file),
// the shared one meanwhile. A run's option declarations and parse paths
// compiled lazily cost `run --no-such-flag` ~12 ms more than from a cache.
// `shellVerb`: for the shell, the guess ('' when argv names none); for a
// chunk, undefined.
function loadCached(file, shellVerb) {
  const cached = Module._cache[file];
  if (cached) return cached.exports;
  const shared = `${file}.v8cache`;
  const own = cacheName(file, shellVerb === undefined ? globalThis[VERB] : shellVerb);
  const ownCache = own && readCache(own);
  const cache = ownCache ?? readCache(shared);
  const source = mapped?.text(file) ?? fs.readFileSync(file, 'latin1');
  const script = new vm.Script(source.startsWith(WRAPPED) ? source : Module.wrap(source), { filename: file, cachedData: cache?.data });
  const accepted = !!cache && !script.cachedDataRejected;
  process.once('exit', (code) => {
    const named = shellVerb === undefined || [globalThis[VERB], String(globalThis[VERB]).split(' ')[0]].includes(shellVerb);
    // Without its own verb's file, a run keeps the shared one (it read that one).
    const target = own && named ? own : ownCache ? undefined : shared;
    if (!target) return;
    const read = target === own ? ownCache : cache;
    const held = read && read === cache && accepted ? read.seen : 0;
    const outcome = code === 0 ? OK : FAILED;
    if (held & outcome) return;
    try {
      const tmp = `${target}.${process.pid}`;
      fs.writeFileSync(tmp, Buffer.concat([Buffer.from(MAGIC + String.fromCharCode(held | outcome), 'latin1'), script.createCachedData()]));
      fs.renameSync(tmp, target);
    } catch {} // a read-only install runs without a cache
  });
  const mod = new Module(file, module);
  mod.filename = file;
  mod.paths = Module._nodeModulePaths(path.dirname(file));
  Module._cache[file] = mod;
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
  mod.loaded = true;
  return mod.exports;
}

module.exports = function launch(name) {
  const bundle = path.join(dist, 'bundle', `${name}.cjs`);
  const modules = path.join(dist, 'cli', `${name}.js`);
  let fresh = false;
  try {
    fresh = fs.statSync(bundle).mtimeMs >= fs.statSync(modules).mtimeMs;
  } catch {}
  if (!fresh) return import(require('node:url').pathToFileURL(modules).href);
  const verb = guessVerb(process.argv.slice(2));
  // The API service lives long and must outlive an upgrade that rewrites the
  // bundles in place (cp): it reads them, as a mapping would change under it.
  if (verb !== 'system') mapped = globalThis[Symbol.for('tsrun.files')] = mapFiles();
  globalThis[Symbol.for('tsrun.load')] = (file) => loadCached(file);
  loadCached(bundle, verb ?? '');
};
