// The OCI image config (application/vnd.oci.image.config.v1+json, and
// Docker's identical container config JSON): checked on arrival, then
// turned into what shapes a container's process.
import { TsrunError } from '../errors.js';
import type { ImageProcessConfig } from '../spec/build.js';

export interface ImageRuntimeConfig {
  User?: string;
  ExposedPorts?: Record<string, object>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, object>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** SHELL of a Dockerfile: the shell form's command prefix for RUN/CMD/ENTRYPOINT. */
  Shell?: string[];
  /** HEALTHCHECK: Test is ['NONE'], ['CMD', ...] or ['CMD-SHELL', script]; durations in nanoseconds. */
  Healthcheck?: { Test: string[]; Interval?: number; Timeout?: number; StartPeriod?: number; StartInterval?: number; Retries?: number };
  /** ONBUILD triggers, run by builds FROM this image. */
  OnBuild?: string[] | null;
}

export interface ImageHistory {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImageConfig {
  architecture: string;
  os: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: ImageRuntimeConfig;
  rootfs: { type: 'layers'; diff_ids: string[] };
  history?: ImageHistory[];
}

const DIFF_ID_RE = /^sha256:[a-f0-9]{64}$/;

export function parseImageConfig(bytes: Buffer, digest: string): ImageConfig {
  let cfg: ImageConfig;
  try {
    cfg = JSON.parse(bytes.toString('utf8')) as ImageConfig;
  } catch (cause) {
    throw new TsrunError('MANIFEST_INVALID', `image config ${digest} is not valid JSON`, { cause });
  }
  if (typeof cfg !== 'object' || cfg === null || typeof cfg.rootfs !== 'object' || !Array.isArray(cfg.rootfs?.diff_ids)) {
    throw new TsrunError('MANIFEST_INVALID', `image config ${digest} has no rootfs.diff_ids`);
  }
  for (const d of cfg.rootfs.diff_ids) {
    if (typeof d !== 'string' || !DIFF_ID_RE.test(d)) throw new TsrunError('MANIFEST_INVALID', `image config ${digest} lists an invalid diff_id ${JSON.stringify(d)}`);
  }
  return cfg;
}

/** The fields `run` takes from an image (Docker's names → OCI build options). */
export function processConfig(cfg: ImageConfig): ImageProcessConfig {
  const c = cfg.config ?? {};
  return {
    entrypoint: c.Entrypoint ?? undefined,
    cmd: c.Cmd ?? undefined,
    env: c.Env,
    workingDir: c.WorkingDir || undefined,
    user: c.User || undefined,
  };
}
