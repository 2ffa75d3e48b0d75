// The steps that change files, each as what it reads (the extra part of
// its cache key, computed before the cache is asked) and how it runs on a
// miss, on an overlay the builder mounts: RUN (a container of tsrun's own
// runtime, with its --mount's), COPY and ADD (sources.ts finds and hashes
// what they read, copy.ts writes it), and a WORKDIR that creates its
// directory.
import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import { TsrunError } from '../errors.js';
import type { Platform } from '../image/platform.js';
import type { ImageLayer } from '../image/store/image-index.js';
import type { Tsrun } from '../tsrun.js';
import type { MountSpec } from '../volume/flags.js';
import { fetchUrl, extractArchive, isUrl } from './add.js';
import { PROXY_ARGS, type BuildEvent, type BuildOptions } from './builder.js';
import { cacheKey } from './cache.js';
import { resolveChown } from './chown.js';
import { copyInto, isDirPath, writeInto } from './copy.js';
import type { Instruction, RawInstruction, RunMount } from './dockerfile/types.js';
import { mountDestinations, runFailed, runStep } from './run-step.js';
import { matchSources, type MatchedSource, type SourceRoot } from './sources.js';
import { commandArgs, envMap, resolveWorkdir, type StageState } from './stage.js';
import type { BuildWorkspace } from './workspace.js';

export interface StepContext {
  tsrun: Tsrun;
  opts: BuildOptions;
  ws: BuildWorkspace;
  platform: Platform;
  buildArgs: Map<string, string>;
  emit: (e: BuildEvent) => void;
  /** The stage a --from / from= reference names (waiting for it to be built), or undefined for an image. */
  stageFor: (ref: string, st: StageState) => Promise<StageState> | undefined;
}

export interface PreparedStep {
  keyExtra: unknown;
  /** Runs the step on the overlay mounted at rootfs; returns where the runtime mounted things (their stubs stay out of the layer). */
  execute: (rootfs: string, step: number) => Promise<string[] | void>;
}

export class FileSteps {
  /** Mounted views of other stages and images (COPY --from, RUN --mount from=), by their cache key. */
  private readonly views = new Map<string, Promise<string>>();

  constructor(private readonly c: StepContext) {}

  /** What a file step reads (for its cache key) and how it runs on a miss. */
  async prepare(st: StageState, raw: RawInstruction, ins: Instruction): Promise<PreparedStep> {
    const c = st.config.config ?? {};
    switch (ins.kind) {
      case 'WORKDIR': {
        const path = resolveWorkdir(c.WorkingDir, ins.path);
        return {
          keyExtra: path,
          execute: async (rootfs) => {
            const { resolveInRoot } = await import('../util/resolve-in-root.js');
            const { mkdir } = await import('node:fs/promises');
            await mkdir(await resolveInRoot(rootfs, path), { recursive: true, mode: 0o755 });
            if (c.User && !/^(0|root)(:.*)?$/.test(c.User)) {
              // BuildKit gives a WORKDIR it creates to the stage's USER.
              const owner = await resolveChown(rootfs, c.User);
              const { lchown } = await import('node:fs/promises');
              if (owner) await lchown(await resolveInRoot(rootfs, path), owner.uid, owner.gid);
            }
          },
        };
      }
      case 'RUN':
        return this.prepareRun(st, raw, ins);
      case 'COPY':
      case 'ADD':
        return this.prepareCopy(st, ins);
      default:
        throw new TsrunError('DOCKERFILE_INVALID', `${ins.kind} is not supported here`);
    }
  }

  private async prepareRun(st: StageState, raw: RawInstruction, ins: Extract<Instruction, { kind: 'RUN' }>) {
    const c = st.config.config ?? {};
    const args = runArgs(ins, c.Shell);
    // Build args are the command's environment (ENV wins), and so part of its key.
    const env = new Map<string, string>();
    for (const [k, v] of st.args) if (v !== undefined) env.set(k, v);
    for (const k of PROXY_ARGS) if (this.c.buildArgs.has(k)) env.set(k, this.c.buildArgs.get(k)!);
    for (const [k, v] of envMap(c.Env ?? [])) env.set(k, v);
    const argEnv = [...st.args].filter(([k]) => !envMap(c.Env ?? []).has(k));
    const mounts: MountSpec[] = [];
    const mountKeys: unknown[] = [];
    let script: string | undefined;
    if (args === null) {
      // A heredoc script with a #! line runs as a file, read-only, where the container sees it.
      script = join(this.c.ws.dir, `script-${st.index}-${raw.line}`);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(script, ins.heredocs[0].content, { mode: 0o755 });
      mounts.push({ type: 'bind', source: script, target: '/dev/.tsrun-heredoc', readonly: true, propagation: 'rprivate', createSource: false, mode: 'ro' });
    }
    const exclusive: Array<{ mount: MountSpec & { type: 'bind' }; sharing: 'locked' | 'private' }> = [];
    for (const m of ins.mounts) {
      const spec = await this.runMount(st, m);
      mounts.push(spec.mount);
      mountKeys.push(spec.key);
      if (spec.sharing && spec.mount.type === 'bind') exclusive.push({ mount: spec.mount, sharing: spec.sharing });
    }
    const argv = args ?? ['/dev/.tsrun-heredoc'];
    return {
      keyExtra: { argEnv, mounts: mountKeys, network: ins.network ?? this.c.opts.network ?? 'default' },
      execute: async (rootfs: string, step: number) => {
        const code = await this.withCaches(exclusive, mounts, (held) => runStep(this.c.tsrun, {
          rootfs, args: argv,
          env: [...env].map(([k, v]) => `${k}=${v}`),
          user: c.User || undefined,
          workdir: c.WorkingDir || undefined,
          network: ins.network ?? this.c.opts.network ?? 'default',
          mounts: held,
          stdout: this.output(step, 'stdout'),
          stderr: this.output(step, 'stderr'),
          onContainer: (n) => this.c.ws.containerCreated(n),
          onRemoved: (n) => this.c.ws.released(n),
        }));
        if (code !== 0) throw runFailed(`process ${JSON.stringify(argv.join(' '))}`, code);
        return mountDestinations(mounts);
      },
    };
  }

  /**
   * Cache mounts' sharing=, as BuildKit has it: `locked` waits until no
   * other RUN holds the cache, `private` takes a fresh, empty one while
   * another RUN holds it; `shared` (the default) takes no lock. The locks
   * are flocks beside the cache dirs, so they hold across builds.
   */
  private async withCaches<T>(exclusive: Array<{ mount: MountSpec & { type: 'bind' }; sharing: 'locked' | 'private' }>, mounts: MountSpec[], fn: (mounts: MountSpec[]) => Promise<T>): Promise<T> {
    const { open, mkdir } = await import('node:fs/promises');
    const { setTimeout: sleep } = await import('node:timers/promises');
    const handles: Array<{ close(): Promise<void> }> = [];
    const held = [...mounts];
    try {
      for (const { mount, sharing } of exclusive) {
        const fh = await open(`${mount.source}.lock`, 'a', 0o600);
        handles.push(fh);
        if (sharing === 'locked') {
          while (!this.c.tsrun.native.flock(fh.fd, true)) await sleep(20);
        } else if (!this.c.tsrun.native.flock(fh.fd, true)) {
          const fresh = join(this.c.ws.dir, `cache-${randomBytes(6).toString('hex')}`);
          await mkdir(fresh, { mode: 0o755 });
          held[held.indexOf(mount)] = { ...mount, source: fresh };
        }
      }
      return await fn(held);
    } finally {
      for (const fh of handles) await fh.close();
    }
  }

  private output(step: number, stream: 'stdout' | 'stderr'): Writable {
    const out = new PassThrough();
    out.on('data', (data: Buffer) => this.c.emit({ type: 'output', step, stream, data }));
    return out;
  }

  private async runMount(st: StageState, m: RunMount): Promise<{ mount: MountSpec; key: unknown; sharing?: 'locked' | 'private' }> {
    const target = m.target ? resolveWorkdir(st.config.config?.WorkingDir, m.target) : undefined;
    const bind = (source: string, t: string, readonly: boolean): MountSpec => ({ type: 'bind', source, target: t, readonly, propagation: 'rprivate', createSource: false, mode: readonly ? 'ro' : '' });
    switch (m.type) {
      case 'cache': {
        if (!target) throw new TsrunError('DOCKERFILE_INVALID', 'a cache mount needs a target');
        const { mkdir, chown, chmod } = await import('node:fs/promises');
        const dir = join(this.c.tsrun.root, 'build', 'cache-mounts', cacheKey('cache-mount', m.id ?? target));
        await mkdir(dir, { recursive: true });
        if (m.uid !== undefined || m.gid !== undefined) await chown(dir, m.uid ?? 0, m.gid ?? 0);
        if (m.mode !== undefined) await chmod(dir, m.mode);
        const sharing = m.sharing === 'locked' || m.sharing === 'private' ? m.sharing : undefined;
        return { mount: bind(dir, target, !!m.readonly), key: { cache: m.id ?? target, target }, ...(sharing ? { sharing } : {}) };
      }
      case 'tmpfs':
        if (!target) throw new TsrunError('DOCKERFILE_INVALID', 'a tmpfs mount needs a target');
        return { mount: { type: 'tmpfs', target, options: m.size ? [`size=${m.size}`] : [] }, key: { tmpfs: target, size: m.size } };
      case 'secret': {
        const id = m.id ?? (m.target ? posix.basename(m.target) : undefined);
        if (!id) throw new TsrunError('DOCKERFILE_INVALID', 'a secret mount needs an id or a target');
        const src = this.c.opts.secrets?.[id];
        if (!src) throw new TsrunError('BUILD_FAILED', `secret ${id} not found: pass it with --secret id=${id},src=FILE`);
        // The secret's content is not part of the key (BuildKit: secrets never bust or enter the cache).
        return { mount: bind(src, target ?? `/run/secrets/${id}`, true), key: { secret: id, target } };
      }
      case 'bind': {
        if (!target) throw new TsrunError('DOCKERFILE_INVALID', 'a bind mount needs a target');
        const root = await this.sourceRoot(st, m.from, { writable: m.readonly === false });
        const [src] = await matchSources(root.root, [m.source ?? '.']);
        const { sourcesDigest } = await import('./sources.js');
        const key = { bind: target, from: m.from, content: await sourcesDigest([src], root.root.kind !== 'context') };
        let source = src.entries[0].path;
        if (root.root.kind === 'context' && (m.readonly === false || root.root.filter)) {
          // The user's own files are never bound writable, nor with what
          // .dockerignore leaves out: the RUN gets a copy, whose writes are
          // discarded with it (BuildKit's rw bind mounts do the same).
          const { mkdir } = await import('node:fs/promises');
          const copy = join(this.c.ws.dir, `bind-${randomBytes(6).toString('hex')}`);
          await mkdir(copy, { mode: 0o755 });
          const dest = src.isDir ? '/' : '/file';
          await copyInto(copy, [src], { dest, dirHint: false, native: this.c.tsrun.native });
          source = join(copy, dest);
        }
        return { mount: bind(source, target, m.readonly !== false), key };
      }
      default:
        throw new TsrunError('UNSUPPORTED', `RUN --mount=type=${m.type} is not supported`);
    }
  }

  /** The root COPY --from / --mount from= reads: the context, a stage, or an image. */
  private async sourceRoot(st: StageState, from: string | undefined, opts: { writable?: boolean } = {}): Promise<{ root: SourceRoot; key: string }> {
    if (!from) return { root: { dir: this.c.opts.contextDir, kind: 'context', filter: this.c.opts.ignore }, key: 'context' };
    const dep = this.c.stageFor(from, st);
    let layers: ImageLayer[];
    let key: string;
    if (dep) {
      const other = await dep;
      layers = other.layers;
      key = other.key;
    } else {
      const image = await this.c.tsrun.images.ensure(from, this.c.opts.pull ?? 'missing', { platform: this.c.platform, credentials: this.c.opts.credentials });
      layers = image.record.layers;
      key = image.record.id;
    }
    // A view of those layers for as long as the build runs, mounted once per
    // stage or image; a writable bind mount gets one of its own, whose writes
    // no later step sees.
    const mount = async () => this.c.tsrun.images.rootfs.create(await this.c.ws.overlayId(), layers.map((l) => l.diffId));
    let dir: Promise<string>;
    if (opts.writable) dir = mount();
    else {
      dir = this.views.get(key) ?? mount();
      this.views.set(key, dir);
    }
    return { root: { dir: await dir, kind: 'rootfs' }, key };
  }

  private async prepareCopy(st: StageState, ins: Extract<Instruction, { kind: 'COPY' | 'ADD' }>) {
    const c = st.config.config ?? {};
    const dest = resolveWorkdir(c.WorkingDir, ins.dest) + (isDirPath(ins.dest) && ins.dest !== '/' ? '/' : '');
    const heredocs = new Map(ins.heredocs.map((h) => [h.name, h]));
    const fileSources = ins.sources.filter((s) => !heredocs.has(s) && !(ins.kind === 'ADD' && isUrl(s)));
    const urls = ins.kind === 'ADD' ? ins.sources.filter((s) => isUrl(s)) : [];
    const { root, key: rootKey } = await this.sourceRoot(st, ins.from);
    const { excludeMatcher } = await import('./exclude.js');
    const matched: MatchedSource[] = fileSources.length ? await matchSources(root, fileSources, excludeMatcher(ins.exclude)) : [];
    const { sourcesDigest } = await import('./sources.js');
    const downloads = await Promise.all(urls.map((u) => fetchUrl(u, this.c.ws.dir, ins.checksum)));
    const keyExtra = {
      root: rootKey,
      content: await sourcesDigest(matched, root.kind !== 'context'),
      heredocs: ins.heredocs.map((h) => h.content),
      urls: downloads.map((d) => d.digest),
    };
    const many = ins.sources.length > 1;
    return {
      keyExtra,
      execute: async (rootfs: string) => {
        const owner = ins.chown ? await resolveChown(rootfs, ins.chown) : undefined;
        const mode = ins.chmod !== undefined ? parseMode(ins.chmod) : undefined;
        const dirHint = dest.endsWith('/') || many;
        const fileOwner = owner ?? (root.kind === 'context' ? { uid: 0, gid: 0 } : undefined);
        for (const h of ins.heredocs) {
          const path = dirHint ? posix.join(dest, h.name) : dest;
          await writeInto(rootfs, path, h.content, { mode: mode ?? 0o644, owner: owner ?? { uid: 0, gid: 0 } });
        }
        for (const d of downloads) {
          const path = dirHint ? posix.join(dest, d.name) : dest;
          await writeInto(rootfs, path, { file: d.file }, { mode: mode ?? 0o600, owner: owner ?? { uid: 0, gid: 0 }, mtime: d.mtime });
        }
        for (const s of matched) {
          if (ins.kind === 'ADD' && !s.isDir) {
            const extracted = await extractArchive(s.entries[0].path, this.c.ws.dir, this.c.tsrun.native);
            if (extracted) {
              // An archive is unpacked into the destination directory, owners as in the archive.
              const [tree] = await matchSources({ dir: extracted, kind: 'rootfs' }, ['.']);
              await copyInto(rootfs, [tree], { dest: dest.replace(/\/?$/, '/'), dirHint: true, owner, mode, native: this.c.tsrun.native });
              continue;
            }
          }
          await copyInto(rootfs, [s], { dest, dirHint, owner: fileOwner, mode, parents: ins.parents, native: this.c.tsrun.native });
        }
      },
    };
  }
}

/** RUN's argv; null for a heredoc script that must run as a file (#!). */
function runArgs(ins: Extract<Instruction, { kind: 'RUN' }>, shell: string[] | undefined): string[] | null {
  if ('exec' in ins.command || ins.heredocs.length === 0) return commandArgs(ins.command, shell);
  const only = /^\s*\d*<<-?\s*(["']?)([^"'\s]+)\1\s*$/.exec(ins.command.shell);
  if (only && ins.heredocs.length === 1) {
    // `RUN <<EOF`: the body is the script (BuildKit); with a #! line it runs as that interpreter's file.
    const body = ins.heredocs[0].content;
    if (body.startsWith('#!')) return null;
    return commandArgs({ shell: body }, shell);
  }
  // `RUN cmd <<EOF`: the shell gets the heredocs back as written and reads them itself.
  const text = [ins.command.shell, ...ins.heredocs.map((h) => `${h.content}${h.content.endsWith('\n') ? '' : '\n'}${h.name}`)].join('\n');
  return commandArgs({ shell: text }, shell);
}

/** --chmod: octal (BuildKit also takes symbolic modes; those are refused with a clear error here). */
function parseMode(s: string): number {
  if (!/^[0-7]{3,4}$/.test(s)) throw new TsrunError('DOCKERFILE_INVALID', `invalid --chmod ${JSON.stringify(s)}: use an octal mode such as 0755`);
  return parseInt(s, 8);
}
