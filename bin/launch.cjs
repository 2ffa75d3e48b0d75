'use strict';
// Starts a tsrun binary from its bundle (dist/bundle/NAME.cjs, made by
// scripts/bundle.mjs), compiled from V8's code cache kept beside it; or,
// when there is no bundle or tsc wrote dist/ after it, from dist/'s modules.
// Plain CommonJS, because Node's ES module loader alone costs a verb
// several ms before any of our code runs.
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const dist = path.join(__dirname, '..', 'dist');

// Loads a bundle as a CommonJS module, from its code cache when V8 accepts
// it. A missing or rejected cache (another Node) is written once this
// process is done, from what the run compiled, so the next run finds it.
// The core's cache is kept per verb (the CLI names it on globalThis before
// the core loads): each holds the functions its verb runs, and no others.
function loadCached(file) {
  const cached = Module._cache[file];
  if (cached) return cached.exports;
  const verb = globalThis[Symbol.for('tsrun.verb')];
  const cacheFile = typeof verb === 'string' && /^[a-z][a-z -]*$/.test(verb) ? `${file}.${verb.replace(/ /g, '-')}.v8cache` : `${file}.v8cache`;
  const source = fs.readFileSync(file, 'latin1');
  let cachedData;
  try {
    cachedData = fs.readFileSync(cacheFile);
  } catch {}
  const script = new vm.Script(Module.wrap(source), { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch {} // a read-only install runs without a cache
    });
  }
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
  globalThis[Symbol.for('tsrun.load')] = loadCached;
  loadCached(bundle);
};
