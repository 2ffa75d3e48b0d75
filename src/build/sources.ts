// COPY/ADD sources: which files a step reads, and the digest of them that
// goes into the step's cache key. A source root is the build context (with
// .dockerignore applied), another stage's root filesystem, or an image's.
//
// Rules (Docker's): sources are relative to the root whatever their leading
// '/'; globs (* ? [..]) match one path component each; a path may not leave
// the context, neither by `..` nor through a symlink that points out (a
// symlink inside the context is followed within it; one met while walking a
// copied directory is copied as a link, never followed). The digest covers
// each entry's relative path, type, mode, owner, link target and bytes, not
// its times: a touched but unchanged file still hits the cache.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { posix, join } from 'node:path';
import { TsrunError } from '../errors.js';

/** Which files of a root a step may see. */
export interface SourceFilter {
  ignores(rel: string, isDir: boolean): boolean;
  canSkipDir(rel: string): boolean;
}

export interface SourceRoot {
  /** Host path of the root. */
  dir: string;
  /** 'context' refuses escapes with an error; stage and image roots resolve symlinks inside the root. */
  kind: 'context' | 'rootfs';
  filter?: SourceFilter;
}

/** One file, directory or link to copy, `rel` relative to its source (as it lands under the destination). */
export interface SourceEntry {
  /** Host path to read. */
  path: string;
  /** Path under the destination ('' for the source itself). */
  rel: string;
  stat: Stats;
  link?: string;
}

/** One matched source: the thing named, and everything below it when it is a directory. */
export interface MatchedSource {
  /** The matched path, relative to the root (a/b.txt). */
  name: string;
  isDir: boolean;
  entries: SourceEntry[];
}

const GLOB_RE = /[*?[]/;

function fail(message: string): TsrunError {
  return new TsrunError('BUILD_FAILED', message);
}

/** Cleans a source path relative to the root; refuses one that leaves it. */
export function cleanSource(src: string, root: SourceRoot): string {
  const clean = posix.normalize(`/${src}`).slice(1).replace(/\/+$/, '');
  if (root.kind === 'context' && posix.normalize(src).split('/')[0] === '..' && !src.startsWith('/')) {
    throw fail(`forbidden path outside the build context: ${src}`);
  }
  return clean;
}

/**
 * Resolves `rel` (clean, relative) inside the root, following symlinks
 * within it. In the context, a symlink that points out is an error.
 */
async function resolveIn(root: SourceRoot, rel: string, shown: string): Promise<string | null> {
  const parts = rel === '' ? [] : rel.split('/');
  const done: string[] = [];
  for (let hops = 0; parts.length > 0; ) {
    const part = parts.shift()!;
    if (part === '.' || part === '') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const here = join(root.dir, ...done, part);
    let st: Stats;
    try {
      st = await lstat(here);
    } catch {
      return null;
    }
    if (!st.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++hops > 255) throw fail(`too many levels of symbolic links in ${shown}`);
    const target = await readlink(here);
    const joined = posix.normalize(posix.join(done.join('/') || '.', target));
    if (root.kind === 'context' && (target.startsWith('/') || joined === '..' || joined.startsWith('../'))) {
      throw fail(`forbidden path outside the build context: ${shown} (${[...done, part].join('/')} -> ${target})`);
    }
    // In a root filesystem, absolute targets and `..` are taken at its root, as the container would see them.
    parts.unshift(...posix.normalize(`/${target.startsWith('/') ? target : joined}`).split('/').filter(Boolean));
    done.length = 0;
  }
  return join(root.dir, ...done);
}

function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) re += '\\[';
      else {
        let cls = glob.slice(i + 1, end);
        if (cls.startsWith('!') || cls.startsWith('^')) cls = `^${cls.slice(1)}`;
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) re += `\\${glob[++i]}`;
    else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expands a glob pattern (relative, clean) into the matching relative paths, sorted. */
async function expandGlob(root: SourceRoot, pattern: string): Promise<string[]> {
  let found = [''];
  for (const part of pattern.split('/')) {
    const next: string[] = [];
    for (const base of found) {
      if (!GLOB_RE.test(part)) {
        next.push(base ? `${base}/${part}` : part);
        continue;
      }
      const dir = await resolveIn(root, base, pattern);
      if (!dir) continue;
      const re = globToRegExp(part);
      const names = await readdir(dir).catch(() => [] as string[]);
      for (const n of names.sort()) if (re.test(n)) next.push(base ? `${base}/${n}` : n);
    }
    found = next;
  }
  const out: string[] = [];
  for (const f of found) if (!(root.filter?.ignores(f, false) ?? false) && (await resolveIn(root, f, pattern))) out.push(f);
  return out;
}

async function walk(root: SourceRoot, dir: string, relRoot: string, rel: string, out: SourceEntry[], excluded: (rel: string, isDir: boolean) => boolean): Promise<void> {
  const names = (await readdir(dir)).sort();
  for (const n of names) {
    const path = join(dir, n);
    const r = rel ? `${rel}/${n}` : n;
    const full = relRoot ? `${relRoot}/${r}` : r;
    const st = await lstat(path);
    const isDir = st.isDirectory();
    if (root.filter?.ignores(full, isDir) || excluded(r, isDir)) {
      if (isDir && !(root.filter?.canSkipDir(full) ?? true)) await walk(root, path, relRoot, r, out, excluded);
      continue;
    }
    out.push({ path, rel: r, stat: st, ...(st.isSymbolicLink() ? { link: await readlink(path) } : {}) });
    if (isDir) await walk(root, path, relRoot, r, out, excluded);
  }
}

/**
 * The sources of one COPY/ADD, each with what it holds. `excluded` is
 * COPY --exclude (relative to each source). Throws when a pattern matches
 * nothing, as Docker does.
 */
export async function matchSources(root: SourceRoot, patterns: string[], excluded: (rel: string, isDir: boolean) => boolean = () => false): Promise<MatchedSource[]> {
  const out: MatchedSource[] = [];
  for (const src of patterns) {
    const clean = cleanSource(src, root);
    const names = GLOB_RE.test(clean) ? await expandGlob(root, clean) : [clean];
    let matched = 0;
    for (const name of names) {
      if (name !== '' && root.filter?.ignores(name, false) && root.filter.canSkipDir(name)) continue;
      const path = await resolveIn(root, name, src);
      if (!path) continue;
      const st = await lstat(path);
      const entries: SourceEntry[] = [{ path, rel: '', stat: st }];
      if (st.isDirectory()) await walk(root, path, name, '', entries, excluded);
      out.push({ name, isDir: st.isDirectory(), entries });
      matched++;
    }
    if (matched === 0 && !GLOB_RE.test(clean)) {
      throw fail(root.kind === 'context' ? `"${src}": not found in the build context (or excluded by .dockerignore)` : `"${src}": not found`);
    }
  }
  if (out.length === 0 && patterns.length > 0) throw fail(`no source files were specified (${patterns.join(' ')} matched nothing)`);
  return out;
}

// Small files are read whole and hashed at once; big ones stream.
const READ_WHOLE_MAX = 1 << 20;

async function fileDigest(path: string, size: number): Promise<string> {
  const h = createHash('sha256');
  if (size <= READ_WHOLE_MAX) return h.update(readFileSync(path)).digest('hex');
  for await (const c of createReadStream(path, { highWaterMark: READ_WHOLE_MAX })) h.update(c as Buffer);
  return h.digest('hex');
}

/** The digest of what the sources hold (paths, types, modes, owners, link targets, bytes; not times). */
export async function sourcesDigest(sources: MatchedSource[], withOwners: boolean): Promise<string> {
  const h = createHash('sha256');
  for (const s of sources) {
    h.update(`source ${s.name} ${s.isDir}\0`);
    for (const e of s.entries) {
      const st = e.stat;
      const body = st.isFile() ? await fileDigest(e.path, st.size) : st.isSymbolicLink() ? e.link ?? '' : st.isBlockDevice() || st.isCharacterDevice() ? String(st.rdev) : '';
      const owner = withOwners ? `${st.uid}:${st.gid}` : '';
      h.update(`${e.rel}\0${st.mode.toString(8)}\0${owner}\0${st.nlink > 1 && st.isFile() ? 'h' : ''}\0${body}\0`);
    }
  }
  return h.digest('hex');
}
