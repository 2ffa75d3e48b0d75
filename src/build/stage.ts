// A build stage's state as its instructions run, and the instructions that
// only change the image config (ENV, CMD, LABEL, ...), applied with Docker's
// rules. Pure: no I/O, so every rule here is unit-tested directly.
import { posix } from 'node:path';
import { TsrunError } from '../errors.js';
import type { ImageConfig, ImageHistory } from '../image/config.js';
import type { ImageLayer } from '../image/store/image-index.js';
import type { CommandForm, Instruction, Lookup } from './dockerfile/types.js';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];
const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface StageState {
  index: number;
  name?: string;
  config: ImageConfig;
  layers: ImageLayer[];
  /** ARGs declared in this stage, with their values (undefined: declared, no value). */
  args: Map<string, string | undefined>;
  /** The cache chain: the key of the last step. */
  key: string;
  /** CMD was set in this stage (then ENTRYPOINT does not reset it). */
  cmdSet: boolean;
  /**
   * The time of the newest step so far: a layer step's own (kept in the
   * cache, so a cached step has the time it first ran), else the base's.
   * History entries and the image's `created` take it, so an unchanged
   * rebuild gives the same image id.
   */
  time: string;
}

/** The stage's environment for lookups: ENV wins over ARG, as in Docker. */
export function stageLookup(st: StageState): Lookup {
  const env = envMap(st.config.config?.Env ?? []);
  return (name) => (env.has(name) ? env.get(name) : st.args.get(name));
}

export function envMap(env: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env) {
    const eq = e.indexOf('=');
    if (eq > 0) m.set(e.slice(0, eq), e.slice(eq + 1));
  }
  return m;
}

/** A fresh config for FROM scratch (Docker gives scratch stages the default PATH). */
export function scratchConfig(platform: { os: string; architecture: string; variant?: string }): ImageConfig {
  return {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: { Env: [DEFAULT_PATH] },
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
}

/**
 * BuildKit (and the classic builder): a stage whose base image sets no PATH
 * gets the default one in its config, so RUN and the image both have it.
 */
export function ensureDefaultPath(config: ImageConfig): ImageConfig {
  const c = (config.config ??= {});
  if (!envMap(c.Env ?? []).has('PATH')) c.Env = [...(c.Env ?? []), DEFAULT_PATH];
  return config;
}

/** RUN/CMD/ENTRYPOINT's argv: exec form as is, shell form under the stage's SHELL. */
export function commandArgs(form: CommandForm, shell: string[] | undefined): string[] {
  return 'exec' in form ? form.exec : [...(shell?.length ? shell : DEFAULT_SHELL), form.shell];
}

/** WORKDIR/COPY destination rule: relative paths are taken from the current WORKDIR. */
export function resolveWorkdir(current: string | undefined, path: string): string {
  return posix.resolve(current || '/', path);
}

function setEnv(env: string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => e.slice(0, e.indexOf('=')) === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/** Applies an instruction that changes only the config; false when `ins` is not one of those. */
export function applyMetadata(st: StageState, ins: Instruction): boolean {
  const c = (st.config.config ??= {});
  switch (ins.kind) {
    case 'ENV':
      for (const [k, v] of ins.pairs) c.Env = setEnv(c.Env ?? [], k, v);
      return true;
    case 'LABEL':
      c.Labels = { ...(c.Labels ?? {}) };
      for (const [k, v] of ins.pairs) c.Labels[k] = v;
      return true;
    case 'CMD':
      c.Cmd = commandArgs(ins.command, c.Shell);
      st.cmdSet = true;
      return true;
    case 'ENTRYPOINT':
      c.Entrypoint = commandArgs(ins.command, c.Shell);
      // Docker: an ENTRYPOINT resets the CMD inherited from the base image,
      // unless this stage set CMD itself.
      if (!st.cmdSet) c.Cmd = null;
      return true;
    case 'USER':
      c.User = ins.user;
      return true;
    case 'EXPOSE':
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}) };
      for (const p of ins.ports) {
        const [range, proto = 'tcp'] = p.split('/');
        const [lo, hi = lo] = range.split('-').map(Number);
        if (!(lo >= 1 && hi <= 65535 && lo <= hi)) throw new TsrunError('DOCKERFILE_INVALID', `invalid port ${JSON.stringify(p)} in EXPOSE`);
        for (let port = lo; port <= hi; port++) c.ExposedPorts[`${port}/${proto.toLowerCase()}`] = {};
      }
      return true;
    case 'VOLUME':
      c.Volumes = { ...(c.Volumes ?? {}) };
      for (const v of ins.paths) {
        if (!v) throw new TsrunError('DOCKERFILE_INVALID', 'VOLUME specified can not be an empty string');
        c.Volumes[v] = {};
      }
      return true;
    case 'STOPSIGNAL':
      c.StopSignal = ins.signal;
      return true;
    case 'SHELL':
      c.Shell = ins.shell;
      return true;
    case 'HEALTHCHECK': {
      const h = ins.check;
      c.Healthcheck = {
        Test: h.test,
        ...(h.interval !== undefined ? { Interval: h.interval } : {}),
        ...(h.timeout !== undefined ? { Timeout: h.timeout } : {}),
        ...(h.startPeriod !== undefined ? { StartPeriod: h.startPeriod } : {}),
        ...(h.startInterval !== undefined ? { StartInterval: h.startInterval } : {}),
        ...(h.retries !== undefined ? { Retries: h.retries } : {}),
      };
      return true;
    }
    case 'ONBUILD':
      c.OnBuild = [...(c.OnBuild ?? []), ins.trigger];
      return true;
    case 'MAINTAINER':
      st.config.author = ins.name;
      return true;
    default:
      return false;
  }
}

/** Appends a history entry; `layer` says whether the step made a layer. */
export function addHistory(st: StageState, createdBy: string, layer: ImageLayer | null, time = st.time): void {
  st.time = time;
  const h: ImageHistory = { created: time, created_by: createdBy, comment: 'tsrun build' };
  if (layer) {
    st.layers.push(layer);
    st.config.rootfs.diff_ids.push(layer.diffId);
  } else h.empty_layer = true;
  (st.config.history ??= []).push(h);
}
