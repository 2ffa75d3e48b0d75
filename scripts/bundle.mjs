// Bundles each binary's compiled modules (dist/, from tsc) into CommonJS
// files under dist/bundle/, which bin/launch.cjs runs with V8's code cache:
//
//   NAME.cjs       the shell: the entry's static imports (the option parser,
//                  every verb's flags): all that --help, --version and a
//                  parse error need, small enough to start in a few ms;
//   NAME-core.cjs  what the shell reaches through import() that the short
//                  verbs use: the engine, container store, cgroups... loaded
//                  on a verb's first import() of core, each module
//                  initialised on first use;
//   NAME-CHUNK.cjs the rest of it, by what loads it (CHUNKS below: create,
//                  template, api, build, cold), read only when a verb asks;
//
// One module lives in one bundle only (classes such as TsrunError must keep
// one identity): a chunk takes the shell's modules from the shell, through
// a registry on globalThis, and another chunk's through that chunk's table.
// import.meta.url keeps meaning the module's own file in dist/, so paths
// built from it (the native addon, the unpack worker) still resolve.
// dist/ stays runnable without any of this.
//
//   node scripts/bundle.mjs        (npm run build and npm ci run it)
import * as esbuild from 'esbuild';
import { mkdir, readFile, rename, rm } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(repo, 'dist');
const bundleDir = join(dist, 'bundle');
// Built beside it and swapped in, so a command running meanwhile finds the
// old bundle or the new one, never half of one (same depth: same relative paths).
const outdir = join(dist, `.bundle-${process.pid}`);
const REGISTRY = 'Symbol.for("tsrun.shell")';
const LOADER = 'Symbol.for("tsrun.load")';

const common = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  minify: process.env.TSRUN_BUNDLE_MINIFY !== '0',
  legalComments: 'none',
  logLevel: 'warning',
  // The addon is a binary next to dist/, found from binding.js's own URL.
  external: ['*.node'],
  // Each bundle is written as the function CommonJS wraps a module in
  // (Module.wrap's text), so bin/launch.cjs compiles the file as it is: a
  // wrapped copy would be a second string the size of the bundle.
  // What import.meta.url becomes (see metaUrl): a name no module shadows;
  // a plain path needs no percent-encoding, and pathToFileURL cold is ~0.2 ms a call.
  banner: {
    js: '(function (exports, require, module, __filename, __dirname) { const __tsrunUrl = (rel) => { const p = require("node:path").join(__dirname, rel); ' +
      'return /^[\\w./-]+$/.test(p) ? `file://${p}` : require("node:url").pathToFileURL(p).href; };',
  },
  footer: { js: '\n});' },
};

// import.meta.url of a dist module, as seen from a bundle in dist/bundle.
const metaUrl = {
  name: 'import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async ({ path }) => {
      let contents = await readFile(path, 'utf8');
      if (contents.includes('import.meta.url')) {
        const rel = JSON.stringify(relative(outdir, path));
        contents = contents.replaceAll('import.meta.url', `__tsrunUrl(${rel})`);
      }
      return { contents, loader: 'js' };
    });
  },
};

// commander requires child_process at load (for executable subcommands, which
// tsrun has none of): that alone pulls in net and stream, ~8 ms of every verb.
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(build) {
    build.onResolve({ filter: /^(node:)?child_process$/ }, (a) => (a.importer.includes('/node_modules/commander/') ? { path: 'child_process', namespace: 'lazy' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy' }, () => ({
      contents: 'let cp;\nmodule.exports = new Proxy({}, { get: (_, key) => (cp ??= require("node:child_process"))[key] });',
      loader: 'js',
    }));
  },
};

// Built-in modules the core imports statically that the short verbs (ps,
// rm, inspect, logs) seldom call, none of them in Node's start-up snapshot:
// node:fs/promises (~2.5 ms: it pulls in readline, watchers and the dir
// iterator), node:os, node:module and node:timers/promises (~1 ms
// together). Their static imports get functions that load the module on
// their first call, and proxies for its objects (no class is constructed
// through them); import() of them is left alone (builtinImports), and so
// are packages.
const LAZY_BUILTINS = /^(node:)?(fs\/promises|os|module|timers\/promises)$/;
// Exports taken from elsewhere: fs/promises' constants are node:fs's (loaded anyway).
const ELSEWHERE = { 'fs/promises': { constants: 'require("node:fs").constants' } };
async function lazyModule(name) {
  const lines = ['let m;', `const load = () => (m ??= require("node:${name}"));`];
  for (const [key, value] of Object.entries(await import(`node:${name}`))) {
    if (key === 'default' || !/^[A-Za-z_$][\w$]*$/.test(key)) continue;
    if (ELSEWHERE[name]?.[key]) lines.push(`export const ${key} = ${ELSEWHERE[name][key]};`);
    else if (typeof value === 'function') lines.push(`export const ${key} = (...a) => load().${key}(...a);`);
    else if (value && typeof value === 'object') lines.push(`export const ${key} = new Proxy({}, { get: (_, p) => load().${key}[p] });`);
    // A primitive (os.EOL, os.devNull): the same for every run of this build.
    else lines.push(`export const ${key} = ${JSON.stringify(value)};`);
  }
  lines.push('export default new Proxy({}, { get: (_, p) => load()[p] });');
  return lines.join('\n');
}
const lazyBuiltins = {
  name: 'lazy-builtins',
  setup(build) {
    build.onResolve({ filter: LAZY_BUILTINS }, (a) =>
      (a.kind === 'import-statement' && !a.importer.includes('/node_modules/') ? { path: a.path.replace(/^node:/, ''), namespace: 'lazy-builtin' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async ({ path }) => ({ contents: await lazyModule(path), loader: 'js' }));
  },
};

// esbuild leaves import() of a built-in module as it is, which in a
// vm.Script has no loader to call: make it a require.
const builtinImports = {
  name: 'builtin-imports',
  setup(build) {
    build.onResolve({ filter: /.*/ }, (a) => (a.kind === 'dynamic-import' && isBuiltin(a.path) ? { path: a.path, namespace: 'builtin' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'builtin' }, ({ path }) => ({ contents: `module.exports = require(${JSON.stringify(path)});`, loader: 'js' }));
  },
};

const distKey = (path) => relative(dist, path);

// tsrun's root help lists every verb: the shell carries that list (see
// src/cli/program.ts) so --help need not declare every verb's flags.
async function shellDefines(name) {
  if (name !== 'tsrun') return {};
  const { buildProgram, verbSummary } = await import(join(dist, 'cli', 'program.js'));
  return { __TSRUN_VERB_SUMMARY__: JSON.stringify(verbSummary(buildProgram(['node', 'tsrun', '--help'], undefined))) };
}

// Modules the short verbs (ps, rm, run, create, start, stop, inspect, logs,
// exec) never load are bundles of their own (NAME-CHUNK.cjs), so those
// verbs read and deserialise less (the core's text and code cache cost
// ~1 ms per 40 KB here): the API service, build, templates (--format), and
// the rest (registry transfers, archives, cp, check, system). A module the
// core imports statically stays in the core whatever its path: it would be
// loaded anyway. tsrun-oci's core is small: one bundle.
const CHUNKS = {
  api: [/^api\//],
  build: [/^build\//, /^cli\/build-/],
  template: [/^template\//],
  create: [/^spec\//, /^flags\//, /^volume\/(flags|mounts)\.js$/, /^network\//, /^runtime\/container-network\.js$/],
  cold: [/^image\/(registry|archive|unpack|layer)\//, /^image\/(pull|push|commit|history|new-image|manifest|squash)\.js$/, /^copy\//, /^check\//, /^system\//, /^cli\/(pull|push)-progress\.js$/, /^cli\/(df|info)-text\.js$/],
};
const chunkByPath = (key) => Object.keys(CHUNKS).find((c) => CHUNKS[c].some((re) => re.test(key))) ?? 'core';

// A dist module in another bundle: its bundle's table gives its exports.
const chunkRef = (file, key) => `const load = globalThis[${LOADER}] || require;\nmodule.exports = load(require("node:path").join(__dirname, ${JSON.stringify(file)}))[${JSON.stringify(key)}]();`;

// The dist modules an esbuild build over ENTRIES reaches, the shell's
// modules and packages left out; import() followed unless STATIC_ONLY.
async function reach(entries, shellFiles, staticOnly) {
  const { metafile } = await esbuild.build({
    ...common,
    stdin: { contents: entries.map((k) => `require(${JSON.stringify(join(dist, k))});`).join('\n'), resolveDir: dist, loader: 'js' },
    write: false,
    metafile: true,
    logLevel: 'silent',
    plugins: [{
      name: 'reach',
      setup(build) {
        build.onResolve({ filter: /.*/ }, (a) => {
          if (!a.path.startsWith('.') && !a.path.startsWith('/')) return { path: a.path, external: true };
          const path = resolve(a.resolveDir, a.path);
          if (shellFiles.has(path) || (staticOnly && a.kind === 'dynamic-import')) return { path, external: true };
          return undefined;
        });
      },
    }],
  });
  // Each module with the modules it imports.
  const key = (p) => distKey(resolve(repo, p));
  return new Map(Object.entries(metafile.inputs).filter(([p]) => p.startsWith('dist/')).map(([p, { imports }]) => [key(p), imports.filter((i) => i.path.startsWith('dist/')).map((i) => key(i.path))]));
}

async function bundleBinary(name) {
  const entry = join(dist, 'cli', `${name}.js`);
  // The shell's modules: the entry's static imports, with every import() left out.
  const dynamicTargets = new Set();
  const probe = await esbuild.build({
    ...common,
    entryPoints: [entry],
    write: false,
    metafile: true,
    plugins: [metaUrl, {
      name: 'no-dynamic',
      setup: (b) => b.onResolve({ filter: /.*/ }, (a) => {
        if (a.kind !== 'dynamic-import') return undefined;
        if (a.path.startsWith('.')) dynamicTargets.add(resolve(a.resolveDir, a.path));
        return { path: a.path, external: true };
      }),
    }],
  });
  const shellFiles = new Set(Object.keys(probe.metafile.inputs).filter((p) => !p.includes('node_modules/')).map((p) => resolve(repo, p)));
  // What the shell import()s from the core, and the chunk of every module
  // those reach: by path, unless the core imports it statically.
  const coreEntries = [...dynamicTargets].filter((f) => !shellFiles.has(f)).map(distKey);
  const all = await reach(coreEntries, shellFiles, false);
  const coreStatic = await reach(coreEntries.filter((k) => chunkByPath(k) === 'core'), shellFiles, true);
  const chunkOf = (key) => (name !== 'tsrun' || coreStatic.has(key) ? 'core' : chunkByPath(key));
  const chunkFile = (chunk) => `${name}-${chunk}.cjs`;
  // A chunk's table lists what the shell or another chunk asks it for (the
  // rest esbuild may shake out, as within one bundle).
  const asked = new Set(coreEntries);
  for (const [from, imports] of all) for (const to of imports) if (chunkOf(to) !== chunkOf(from)) asked.add(to);
  const chunks = Object.fromEntries(['core', ...Object.keys(CHUNKS)].map((c) => [c, []]));
  for (const key of all.keys()) if (asked.has(key)) chunks[chunkOf(key)].push(key);

  // Shell: the registry of its own modules, then the entry. An import() of a
  // module outside the shell asks that module's bundle for it.
  const shellPlugin = {
    name: 'shell',
    setup(build) {
      build.onResolve({ filter: /^tsrun:entry$/ }, () => ({ path: 'entry', namespace: 'tsrun' }));
      build.onResolve({ filter: /^tsrun:registry$/ }, () => ({ path: 'registry', namespace: 'tsrun' }));
      build.onResolve({ filter: /.*/ }, (a) => {
        if (a.kind !== 'dynamic-import' || a.namespace === 'tsrun' || !a.path.startsWith('.')) return undefined;
        const key = distKey(resolve(a.resolveDir, a.path));
        if (shellFiles.has(join(dist, key))) return undefined;
        return { path: key, namespace: 'chunk-ref' };
      });
      build.onLoad({ filter: /.*/, namespace: 'chunk-ref' }, ({ path }) => ({ contents: chunkRef(chunkFile(chunkOf(path)), path), loader: 'js' }));
      build.onLoad({ filter: /^entry$/, namespace: 'tsrun' }, () => ({
        contents: `import "tsrun:registry";\nimport ${JSON.stringify(entry)};`,
        loader: 'js',
        resolveDir: dist,
      }));
      build.onLoad({ filter: /^registry$/, namespace: 'tsrun' }, () => {
        const files = [...shellFiles].filter((f) => f !== entry);
        const lines = files.map((f, i) => `import * as m${i} from ${JSON.stringify(f)};`);
        lines.push(`globalThis[${REGISTRY}] = { ${files.map((f, i) => `${JSON.stringify(distKey(f))}: m${i}`).join(', ')} };`);
        return { contents: lines.join('\n'), loader: 'js', resolveDir: dist };
      });
    },
  };
  // The chunks, for a long-lived process to load at once (src/cli/bundle-chunks.ts).
  const chunkFiles = Object.keys(chunks).filter((c) => chunks[c].length).map(chunkFile);
  const shell = await esbuild.build({ ...common, define: { ...(await shellDefines(name)), __TSRUN_CHUNKS__: JSON.stringify(chunkFiles) }, metafile: true, entryPoints: ['tsrun:entry'], outfile: join(outdir, `${name}.cjs`), plugins: [shellPlugin, builtinImports, lazyChildProcess, metaUrl] });

  // Each chunk: a table of lazy loaders, one per module in it; the shell's
  // modules come from its registry, another chunk's from that chunk's table.
  const chunkPlugin = (chunk) => ({
    name: 'chunk',
    setup(build) {
      build.onResolve({ filter: /^tsrun:table$/ }, () => ({ path: 'table', namespace: 'tsrun' }));
      build.onResolve({ filter: /.*/ }, (a) => {
        if (a.namespace === 'tsrun' || !a.path.startsWith('.')) return undefined;
        const path = resolve(a.resolveDir, a.path);
        if (shellFiles.has(path)) return { path: distKey(path), namespace: 'shell-ref' };
        return chunkOf(distKey(path)) === chunk ? undefined : { path: distKey(path), namespace: 'chunk-ref' };
      });
      build.onLoad({ filter: /.*/, namespace: 'shell-ref' }, ({ path }) => ({
        contents: `module.exports = globalThis[${REGISTRY}][${JSON.stringify(path)}];`,
        loader: 'js',
      }));
      build.onLoad({ filter: /.*/, namespace: 'chunk-ref' }, ({ path }) => ({ contents: chunkRef(chunkFile(chunkOf(path)), path), loader: 'js' }));
      build.onLoad({ filter: /^table$/, namespace: 'tsrun' }, () => ({
        contents: `module.exports = {\n${chunks[chunk].map((m) => `  ${JSON.stringify(m)}: () => require(${JSON.stringify(join(dist, m))}),`).join('\n')}\n};`,
        loader: 'js',
        resolveDir: dist,
      }));
    },
  });
  const built = [shell];
  for (const chunk of Object.keys(chunks)) {
    if (!chunks[chunk].length) continue;
    built.push(await esbuild.build({ ...common, metafile: true, entryPoints: ['tsrun:table'], outfile: join(outdir, chunkFile(chunk)), plugins: [chunkPlugin(chunk), lazyBuiltins, builtinImports, metaUrl] }));
  }
  for (const { metafile } of built) {
    for (const [out, { imports }] of Object.entries(metafile.outputs)) {
      const left = imports.filter((i) => i.kind === 'dynamic-import').map((i) => i.path);
      if (left.length) throw new Error(`bundle: ${out} still imports ${left.join(', ')} with import(), which bin/launch.cjs cannot load`);
      // launch.cjs reads a bundle as latin1 (a one-byte string, no UTF-8
      // decoding): any other byte would change meaning. esbuild escapes
      // strings but not regular expression literals.
      // (Unminified, comments stay: any text, harmless.)
      if (!common.minify) continue;
      const at = (await readFile(join(repo, out))).findIndex((b) => b > 0x7f);
      if (at >= 0) throw new Error(`bundle: ${out} has a non-ASCII byte at ${at}: write it as an escape (\\uXXXX) in the source`);
    }
  }
}

await mkdir(outdir, { recursive: true });
try {
  for (const name of ['tsrun', 'tsrun-oci']) await bundleBinary(name);
  const old = join(dist, `.bundle-old-${process.pid}`);
  await rename(bundleDir, old).catch((err) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await rename(outdir, bundleDir);
  await rm(old, { recursive: true, force: true });
} finally {
  await rm(outdir, { recursive: true, force: true });
}
