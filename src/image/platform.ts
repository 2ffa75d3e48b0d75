// OCI platforms (os/architecture/variant) and which image platforms a host
// can run, following containerd's `platforms` package (normalisation and the
// ordered variant fallbacks of platforms.Only).
import { TsrunError } from '../errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

const NODE_ARCH_TO_OCI: Record<string, string> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le', // Node reports ppc64 on little-endian POWER, the only one Linux images exist for
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64el: 'mips64le',
  loong64: 'loong64',
};

/**
 * The platform of this host. `arch` and `armVersion` default to Node's own
 * (process.arch, process.config.variables.arm_version) and are parameters so
 * tests can ask about other hosts.
 */
export function hostPlatform(
  arch: string = process.arch,
  armVersion: string | undefined = (process.config.variables as Record<string, unknown>)['arm_version'] as
    | string
    | undefined,
): Platform {
  const architecture = NODE_ARCH_TO_OCI[arch] ?? arch;
  if (architecture === 'arm64') return { os: 'linux', architecture, variant: 'v8' };
  if (architecture === 'arm') {
    const v = armVersion !== undefined && /^[5-8]$/.test(String(armVersion)) ? String(armVersion) : '7';
    return { os: 'linux', architecture, variant: `v${v}` };
  }
  return { os: 'linux', architecture };
}

/** containerd's normalizeArch plus lower-casing: aarch64→arm64, x86_64→amd64, armhf→arm/v7 ... */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let arch = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase() ?? '';
  switch (arch) {
    case 'i386':
      arch = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = 'v8';
      if (variant === '') variant = 'v8'; // an arm64 image with no variant is a v8 image
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (/^[568]$/.test(variant)) variant = `v${variant}`;
      break;
  }
  const out: Platform = { os, architecture: arch };
  if (variant !== '') out.variant = variant;
  return out;
}

/** 'linux/arm64/v8', 'linux/amd64' */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/');
}

const COMPONENT_RE = /^[A-Za-z0-9_.-]+$/;

/** Parses 'linux/arm64/v8', 'linux/amd64' or a bare 'arm64' (os linux). */
export function parsePlatform(spec: string): Platform {
  const parts = spec.split('/');
  const bad = (why: string) =>
    new TsrunError('INVALID_ARGUMENT', `invalid platform "${spec}": ${why} (expected os/arch[/variant], e.g. linux/arm64/v8)`);
  if (spec === '' || parts.length > 3 || parts.some((p) => !COMPONENT_RE.test(p))) throw bad('malformed');
  const [os, architecture, variant] = parts.length === 1 ? ['linux', parts[0]!] : parts;
  if (os!.toLowerCase() !== 'linux') throw bad(`tsrun runs only linux images, not "${os}"`);
  const p: Platform = { os: os!, architecture: architecture! };
  if (variant !== undefined) p.variant = variant;
  return normalizePlatform(p);
}

/**
 * The platforms a host can run, best first (containerd platforms.Only):
 * arm/v8 → v8, v7, v6, v5; arm/v7 → v7, v6, v5; others run only themselves.
 * 64-bit arm hosts do not fall back to 32-bit arm images: many arm64
 * kernels lack 32-bit support, and a wrong pick fails only at exec time.
 */
export function compatiblePlatforms(host: Platform): Platform[] {
  const h = normalizePlatform(host);
  if (h.architecture === 'arm' && h.variant !== undefined) {
    const n = Number(h.variant.slice(1));
    const out: Platform[] = [];
    for (let v = n; v >= 5; v--) out.push({ os: h.os, architecture: 'arm', variant: `v${v}` });
    if (out.length > 0) return out;
  }
  return [h];
}

function samePlatform(a: Platform, b: Platform): boolean {
  return a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');
}

/** True when a host of platform `host` can run an image built for `image`. */
export function platformMatches(host: Platform, image: Platform): boolean {
  return platformRank(host, image) !== -1;
}

/** Position of `image` in the host's preference order; -1 when it cannot run. */
export function platformRank(host: Platform, image: Platform): number {
  const img = normalizePlatform(image);
  return compatiblePlatforms(host).findIndex((c) => samePlatform(c, img));
}
