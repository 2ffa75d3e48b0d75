// `tsrun build`: a Dockerfile → an image in the store.
//
// The stages form a graph (FROM <stage>, COPY --from, RUN --mount from=):
// only the stages the target needs are built, each as soon as what it needs
// is there, so independent stages build in parallel. Inside a stage the
// instructions run in order against a StageState. A step that changes files
// (RUN, COPY, ADD, a WORKDIR that creates its directory: file-steps.ts)
// works on an overlay of the stage's layers and its upperdir becomes the step's layer
// (image/layer/write.ts, the one way tsrun writes a layer); every other
// instruction only edits the config and adds an empty_layer history entry.
//
// Every step has a content-based cache key (cache.ts); a hit reuses the
// layer without running anything. The image is stored and tagged in one
// index update when the whole build succeeded, and not at all otherwise.
import { TsrunError } from '../errors.js';
import type { ImageConfig } from '../image/config.js';
import { displayName, type PullPolicy } from '../image/images.js';
import { hostPlatform, formatPlatform, parsePlatform, type Platform } from '../image/platform.js';
import type { CredentialSource } from '../image/registry/credentials.js';
import type { ImageLayer } from '../image/store/image-index.js';
import type { Tsrun } from '../tsrun.js';
import { BuildCache, cacheKey } from './cache.js';
import { decodeInstruction } from './dockerfile/decode.js';
import { parseDockerfile } from './dockerfile/parser.js';
import type { Dockerfile, Instruction, Lookup, RawInstruction, RawStage } from './dockerfile/types.js';
import { FileSteps } from './file-steps.js';
import type { SourceFilter } from './sources.js';
import { addHistory, applyMetadata, ensureDefaultPath, resolveWorkdir, scratchConfig, stageLookup, type StageState } from './stage.js';
import { BuildWorkspace } from './workspace.js';

export interface BuildOptions {
  /** Where the build keeps its scratch and leftovers ledger (default: its own, closed at the end). */
  workspace?: BuildWorkspace;
  /** The build context directory (context.ts prepares it). */
  contextDir: string;
  /** The Dockerfile's text and the name it is shown by. */
  dockerfile: string;
  dockerfileName?: string;
  /** .dockerignore, applied to what COPY/ADD see of the context. */
  ignore?: SourceFilter;
  tags?: string[];
  /** --build-arg values (already resolved: a bare K took the host's value). */
  buildArgs?: Record<string, string>;
  target?: string;
  noCache?: boolean;
  /** FROM images: 'always' (--pull), 'missing' (default), 'never'. */
  pull?: PullPolicy;
  platform?: Platform;
  labels?: Record<string, string>;
  /** RUN's network when the instruction does not say (default: the default network). */
  network?: 'default' | 'none' | 'host';
  /** --secret id → host file. */
  secrets?: Record<string, string>;
  /** Credentials for the FROM (and COPY --from) pulls instead of the stored ones (the Engine API's X-Registry-Config). */
  credentials?: CredentialSource;
  onEvent?: (e: BuildEvent) => void;
}

export type BuildEvent =
  | { type: 'step'; step: number; title: string }
  | { type: 'cached'; step: number }
  | { type: 'output'; step: number; stream: 'stdout' | 'stderr'; data: Buffer }
  | { type: 'done'; step: number; seconds: number }
  | { type: 'error'; step: number; message: string }
  | { type: 'warning'; message: string }
  | { type: 'image'; id: string; names: string[] };

export interface BuildResult {
  id: string;
  names: string[];
}

const EPOCH = new Date(0).toISOString();

// BuildKit's predefined, cache-neutral proxy args: usable in RUN without ARG, never in history.
export const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((a) => [a, a.toLowerCase()]);

function platformArgs(target: Platform, build: Platform): Record<string, string> {
  return {
    TARGETPLATFORM: formatPlatform(target),
    TARGETOS: target.os,
    TARGETARCH: target.architecture,
    TARGETVARIANT: target.variant ?? '',
    BUILDPLATFORM: formatPlatform(build),
    BUILDOS: build.os,
    BUILDARCH: build.architecture,
    BUILDVARIANT: build.variant ?? '',
  };
}

function at(df: string, ins: RawInstruction, err: unknown): TsrunError {
  const msg = err instanceof Error ? err.message : String(err);
  const prefix = `${df}:${ins.line}: ${ins.original.length > 80 ? `${ins.original.slice(0, 77)}...` : ins.original}: `;
  const code = err instanceof TsrunError ? err.code : 'BUILD_FAILED';
  return new TsrunError(code === 'DOCKERFILE_INVALID' ? code : 'BUILD_FAILED', msg.startsWith(`${df}:`) ? msg : prefix + msg, { cause: err });
}

export class Builder {
  private readonly cache: BuildCache;
  private readonly df: Dockerfile;
  private readonly dfName: string;
  private readonly platform: Platform;
  private readonly buildArgs: Map<string, string>;
  private readonly usedArgs = new Set<string>();
  private readonly globals = new Map<string, string | undefined>();
  private readonly stages = new Map<number, Promise<StageState>>();
  private readonly byName = new Map<string, RawStage>();
  private ws!: BuildWorkspace;
  private files!: FileSteps;
  private steps = 0;
  private readonly cleanups: Array<Promise<void>> = [];

  constructor(private readonly tsrun: Tsrun, private readonly opts: BuildOptions) {
    this.cache = new BuildCache(tsrun.root);
    this.dfName = opts.dockerfileName ?? 'Dockerfile';
    this.df = parseDockerfile(opts.dockerfile);
    this.platform = opts.platform ?? hostPlatform();
    this.buildArgs = new Map(Object.entries(opts.buildArgs ?? {}));
    for (const s of this.df.stages) {
      const name = stageNameOf(s);
      if (name) this.byName.set(name.toLowerCase(), s);
    }
  }

  private emit(e: BuildEvent): void {
    this.opts.onEvent?.(e);
  }

  async build(): Promise<BuildResult> {
    if (this.df.syntax) this.emit({ type: 'warning', message: `# syntax=${this.df.syntax} is ignored: tsrun builds with its own Dockerfile frontend` });
    for (const w of this.df.warnings) this.emit({ type: 'warning', message: w });
    this.evalGlobalArgs();
    const target = this.targetStage();
    this.ws = this.opts.workspace ?? (await BuildWorkspace.open(this.tsrun));
    this.files = new FileSteps({
      tsrun: this.tsrun, opts: this.opts, ws: this.ws, platform: this.platform, buildArgs: this.buildArgs,
      emit: (e) => this.emit(e),
      stageFor: (ref, st) => {
        const dep = this.stageRef(ref, true, st.index);
        return dep ? this.stage(dep.index) : undefined;
      },
    });
    try {
      // Start every stage the target needs at once; each waits only for its own inputs.
      for (const idx of this.needed(target.index)) void this.stage(idx).catch(() => {});
      const st = await this.stage(target.index);
      const unused = [...this.buildArgs.keys()].filter((k) => !this.usedArgs.has(k) && !PROXY_ARGS.includes(k));
      if (unused.length) this.emit({ type: 'warning', message: `one or more build args were not consumed: [${unused.join(' ')}]` });
      return await this.export(st);
    } catch (err) {
      // Stages still running in parallel stop now (their containers are
      // killed) and are waited for, so nothing they set up outlives the build.
      await this.ws.stopContainers();
      await Promise.allSettled(this.stages.values());
      throw err;
    } finally {
      await Promise.allSettled(this.cleanups);
      if (!this.opts.workspace) await this.ws.close();
    }
  }

  private evalGlobalArgs(): void {
    const predefined = platformArgs(this.platform, hostPlatform());
    for (const [k, v] of Object.entries(predefined)) this.globals.set(k, v);
    for (const raw of this.df.globalArgs) {
      const ins = this.decode(raw, (n) => this.globals.get(n));
      if (ins.kind !== 'ARG') continue;
      for (const a of ins.args) {
        const given = this.buildArgs.get(a.name);
        if (given !== undefined) this.usedArgs.add(a.name);
        this.globals.set(a.name, given ?? a.default);
      }
    }
  }

  private decode(raw: RawInstruction, lookup: Lookup): Instruction {
    try {
      return decodeInstruction(raw, lookup, this.df.escape);
    } catch (err) {
      throw at(this.dfName, raw, err);
    }
  }

  private targetStage(): RawStage {
    if (this.df.stages.length === 0) throw new TsrunError('DOCKERFILE_INVALID', `${this.dfName}: the Dockerfile has no FROM instruction`);
    if (!this.opts.target) return this.df.stages[this.df.stages.length - 1];
    const s = this.byName.get(this.opts.target.toLowerCase());
    if (!s) throw new TsrunError('BUILD_FAILED', `target stage "${this.opts.target}" could not be found`);
    return s;
  }

  /** A stage named by FROM/--from: by name, or by index for --from=N. */
  private stageRef(ref: string, byIndex: boolean, before: number): RawStage | undefined {
    const named = this.byName.get(ref.toLowerCase());
    if (named && named.index < before) return named;
    if (byIndex && /^\d+$/.test(ref) && Number(ref) < before) return this.df.stages[Number(ref)];
    return undefined;
  }

  /** The stages `idx` needs, itself included, found from the raw FROM and --from values. */
  private needed(idx: number, seen = new Set<number>()): Set<number> {
    if (seen.has(idx)) return seen;
    seen.add(idx);
    const s = this.df.stages[idx];
    const globals: Lookup = (n) => this.globals.get(n);
    const refs: Array<[string, boolean]> = [];
    const from = this.decode(s.from, globals);
    if (from.kind === 'FROM') refs.push([from.image, false]);
    for (const raw of s.instructions) {
      for (const f of raw.flags) {
        const m = /^--from=(.*)$/.exec(f);
        if (m) refs.push([m[1], true]);
        for (const mm of f.matchAll(/(?:^|,)from=([^,]+)/g)) if (f.startsWith('--mount=')) refs.push([mm[1], false]);
      }
    }
    for (const [ref, byIndex] of refs) {
      const dep = this.stageRef(ref, byIndex, idx);
      if (dep) this.needed(dep.index, seen);
    }
    return seen;
  }

  private stage(idx: number): Promise<StageState> {
    let p = this.stages.get(idx);
    if (!p) {
      p = this.runStage(this.df.stages[idx]);
      this.stages.set(idx, p);
    }
    return p;
  }

  private async runStage(raw: RawStage): Promise<StageState> {
    const total = raw.instructions.length + 1;
    const label = (i: number) => `${stageNameOf(raw) ?? `stage-${raw.index}`} ${i}/${total}`;
    const st = await this.from(raw, label(1));
    // The base image's ONBUILD triggers run first, as if they were written right after FROM.
    const triggers = st.config.config?.OnBuild ?? [];
    if (st.config.config) st.config.config.OnBuild = null;
    for (const t of triggers) {
      const ins = parseDockerfile(`FROM scratch\n${t}\n`).stages[0].instructions[0];
      await this.step(st, { ...ins, line: raw.from.line, original: `ONBUILD ${t}` }, `${label(1)} ONBUILD`);
    }
    for (const [i, ins] of raw.instructions.entries()) await this.step(st, ins, label(i + 2));
    return st;
  }

  private async from(raw: RawStage, title: string): Promise<StageState> {
    const ins = this.decode(raw.from, (n) => this.globals.get(n));
    if (ins.kind !== 'FROM') throw at(this.dfName, raw.from, new Error('expected FROM'));
    const step = this.begin(`[${title}] ${raw.from.original}`);
    const base: Omit<StageState, 'config' | 'layers' | 'key' | 'time'> = { index: raw.index, name: ins.name, args: new Map(), cmdSet: false };
    const dep = this.stageRef(ins.image, false, raw.index);
    if (dep) {
      const parent = await this.stage(dep.index);
      this.end(step, 0);
      return { ...base, config: structuredClone(parent.config), layers: [...parent.layers], key: cacheKey('from-stage', parent.key), time: parent.time };
    }
    const platform = ins.platform ? parsePlatform(ins.platform) : this.platform;
    if (ins.image.toLowerCase() === 'scratch') {
      this.end(step, 0);
      return { ...base, config: scratchConfig(platform), layers: [], key: cacheKey('scratch', formatPlatform(platform)), time: EPOCH };
    }
    const started = Date.now();
    try {
      const image = await this.tsrun.images.ensure(ins.image, this.opts.pull ?? 'missing', { platform, credentials: this.opts.credentials });
      const config = ensureDefaultPath(structuredClone(image.config));
      config.history ??= [];
      this.end(step, Date.now() - started);
      return { ...base, config, layers: image.record.layers.map((l) => ({ ...l })), key: cacheKey('image', image.record.id), time: config.created ?? EPOCH };
    } catch (err) {
      throw at(this.dfName, raw.from, err);
    }
  }

  private begin(title: string): number {
    const step = ++this.steps;
    this.emit({ type: 'step', step, title });
    return step;
  }

  private end(step: number, ms: number): void {
    this.emit({ type: 'done', step, seconds: ms / 1000 });
  }

  /** The lookup for expansion: stage ARGs and ENV (ENV wins). */
  private async step(st: StageState, raw: RawInstruction, title: string): Promise<void> {
    const ins = this.decode(raw, stageLookup(st));
    if (ins.kind === 'FROM') throw at(this.dfName, raw, new Error('FROM inside a stage'));
    if (ins.kind === 'ARG') {
      for (const a of ins.args) {
        const given = this.buildArgs.get(a.name);
        if (given !== undefined) this.usedArgs.add(a.name);
        st.args.set(a.name, given ?? a.default ?? this.globals.get(a.name));
      }
      st.key = cacheKey(st.key, 'ARG', ins);
      return;
    }
    if (applyMetadata(st, ins)) {
      const step = this.begin(`[${title}] ${raw.original}`);
      st.key = cacheKey(st.key, ins);
      addHistory(st, historyText(raw, ins), null);
      this.end(step, 0);
      return;
    }
    const step = this.begin(`[${title}] ${raw.original}`);
    const started = Date.now();
    try {
      await this.fsStep(st, raw, ins, step);
    } catch (err) {
      this.emit({ type: 'error', step, message: err instanceof Error ? err.message : String(err) });
      throw at(this.dfName, raw, err);
    }
    this.end(step, Date.now() - started);
  }

  /** RUN, COPY, ADD, WORKDIR: the steps that may change files, cached by content. */
  private async fsStep(st: StageState, raw: RawInstruction, ins: Instruction, step: number): Promise<void> {
    const prepared = await this.files.prepare(st, raw, ins);
    const key = cacheKey(st.key, ins, prepared.keyExtra);
    if (!this.opts.noCache) {
      const hit = await this.cache.get(key);
      if (hit && (!hit.layer || (await this.layerPresent(hit.layer)))) {
        this.emit({ type: 'cached', step });
        st.key = key;
        this.applyLayer(st, raw, ins, hit.layer, hit.created);
        return;
      }
    }
    const layer = await this.withOverlay(st, (rootfs) => prepared.execute(rootfs, step));
    const created = new Date().toISOString();
    await this.cache.put(key, layer, created);
    st.key = key;
    this.applyLayer(st, raw, ins, layer, created);
  }

  private applyLayer(st: StageState, raw: RawInstruction, ins: Instruction, layer: ImageLayer | null, time: string): void {
    if (ins.kind === 'WORKDIR') applyWorkdir(st, ins.path);
    addHistory(st, historyText(raw, ins), layer, time);
  }

  private async layerPresent(l: ImageLayer): Promise<boolean> {
    return (await this.tsrun.images.layers.has(l.diffId)) && (await this.tsrun.images.content.has(l.digest));
  }

  /**
   * Mounts an overlay of the stage's layers, runs `fn` on it, and turns its
   * upperdir into a layer, less the stubs of the mount points `fn` names.
   */
  private async withOverlay(st: StageState, fn: (rootfs: string) => Promise<string[] | void>): Promise<ImageLayer | null> {
    const [{ writeLayer }, { lowerLookup, mountStubs }] = await Promise.all([import('../image/layer/write.js'), import('../image/layer/upper.js')]);
    const { rootfs, layers } = this.tsrun.images;
    const id = await this.ws.overlayId();
    try {
      const merged = await rootfs.create(id, st.layers.map((l) => l.diffId));
      const { upper } = rootfs.paths(id);
      const mounted = await fn(merged);
      // Nothing runs in it any more: a lazy unmount spares the wait for a
      // clean one, and the upperdir is as still as after it.
      await rootfs.unmount(id, { lazy: true });
      const lower = lowerLookup(st.layers.map((l) => layers.diffDir(l.diffId)).reverse(), this.tsrun.native);
      const skip = mounted ? await mountStubs(upper, mounted, lower) : undefined;
      return await writeLayer(this.tsrun.images, upper, { native: this.tsrun.native, skip });
    } finally {
      // Deleting the step's tree overlaps the next step; the build waits for it before it ends.
      this.cleanups.push(rootfs.remove(id).then(() => this.ws.released(id)));
    }
  }

  /** Stores the target stage as an image and names it: one index update, after everything else worked. */
  private async export(st: StageState): Promise<BuildResult> {
    const step = this.begin('exporting to image');
    const started = Date.now();
    const { storeImage, tagKey } = await import('../image/new-image.js');
    const config: ImageConfig = structuredClone(st.config);
    config.created = st.time;
    if (this.opts.labels && Object.keys(this.opts.labels).length) {
      config.config = { ...config.config, Labels: { ...(config.config?.Labels ?? {}), ...this.opts.labels } };
    }
    if (config.config && !config.config.OnBuild?.length) delete config.config.OnBuild;
    const names = (this.opts.tags ?? []).map(tagKey);
    const { id } = await storeImage(this.tsrun.images, { config, layers: st.layers, tags: names });
    this.end(step, Date.now() - started);
    this.emit({ type: 'image', id, names });
    await this.tsrun.images.event('build', id, names[0] ? displayName(names[0]) : id);
    for (const n of names) await this.tsrun.images.event('tag', id, displayName(n));
    return { id, names };
  }
}

/** `FROM image AS name`: the name as written. */
function stageNameOf(raw: RawStage): string | undefined {
  return /\s+as\s+(\S+)\s*$/i.exec(raw.from.args)?.[1];
}

function applyWorkdir(st: StageState, path: string): void {
  const c = (st.config.config ??= {});
  c.WorkingDir = resolveWorkdir(c.WorkingDir, path);
}

/** The history's created_by: BuildKit's form (`RUN /bin/sh -c ...`, `ENV a=b`). */
function historyText(raw: RawInstruction, ins: Instruction): string {
  if (ins.kind === 'RUN' && 'shell' in ins.command) return `RUN /bin/sh -c ${ins.command.shell} # buildkit`;
  return `${raw.original.replace(/\s+/g, ' ').trim()}${ins.kind === 'RUN' || ins.kind === 'COPY' || ins.kind === 'ADD' || ins.kind === 'WORKDIR' ? ' # buildkit' : ''}`;
}

