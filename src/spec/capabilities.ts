// --cap-add / --cap-drop / --privileged → the OCI capability sets, with
// moby's rules (oci/caps/utils.go TweakCapabilities and oci/oci.go
// SetCapabilities). Pure functions but hostCapabilities, which reads what
// this process holds.

import { readFileSync } from 'node:fs';
import { TsrunError } from '../errors.js';
import { CAPABILITIES } from '../native/constants.js';
import type { OciCapabilities } from './oci.js';

/** The magic value of --cap-add/--cap-drop meaning every capability. */
export const ALL = 'ALL';

/**
 * The capabilities tsrun itself holds (its effective set, from
 * /proc/self/status), in number order: what --privileged and
 * `--cap-add ALL` grant. moby does the same (oci/caps initCaps): a
 * container can never be given a capability its runtime lacks, as when
 * tsrun runs in a container that dropped some. Without /proc, every name
 * we know.
 */
export function hostCapabilities(status?: string): string[] {
  try {
    const text = status ?? readFileSync('/proc/self/status', 'utf8');
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)?.[1];
    if (hex) {
      const bits = BigInt(`0x${hex}`);
      return CAPABILITIES.filter((_, i) => (bits >> BigInt(i)) & 1n);
    }
  } catch {
    // no /proc
  }
  return [...CAPABILITIES];
}

/**
 * Docker's spelling rules: any case, with or without CAP_, or ALL.
 * Unknown names are refused, and so are names this host cannot grant
 * (moby NormalizeLegacyCapabilities).
 */
export function normalizeCapability(name: string, flag: string, available: readonly string[]): string {
  const upper = name.trim().toUpperCase();
  if (upper === ALL) return ALL;
  const cap = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  const bad = (why: string) => new TsrunError('INVALID_ARGUMENT', `invalid argument ${JSON.stringify(name)} for "${flag}" flag: ${why}: ${JSON.stringify(cap)}`);
  if (!(CAPABILITIES as readonly string[]).includes(cap)) throw bad('unknown capability');
  if (!available.includes(cap)) throw bad('capability not supported by your kernel or not available in the current environment');
  return cap;
}

/**
 * moby's TweakCapabilities: privileged gets every capability (drops are
 * ignored); `--cap-add ALL` is every capability but the dropped ones;
 * `--cap-drop ALL` leaves exactly the added ones; otherwise the basics
 * minus the drops plus the adds. Names must be normalized already.
 */
export function tweakCapabilities(
  basics: readonly string[],
  adds: readonly string[],
  drops: readonly string[],
  privileged: boolean,
  all: readonly string[],
): string[] {
  let caps: string[];
  if (privileged) caps = [...all];
  else if (adds.includes(ALL)) caps = all.filter((c) => !drops.includes(c));
  else if (drops.includes(ALL)) caps = [...adds];
  else caps = [...basics.filter((c) => !drops.includes(c)), ...adds];
  return [...new Set(caps)];
}

/**
 * The capability sets of the container's process (moby SetCapabilities).
 * Root gets the list as its bounding, effective and permitted sets. A
 * non-root user gets it as the bounding set only: effective and
 * permitted stay empty, which is what execve gives a non-root process,
 * so `--cap-add` widens only what a file capability could grant later.
 * That is Docker's rule today (since 20.10.14, CVE-2022-24769); Podman
 * instead also puts --cap-add capabilities in a non-root user's ambient,
 * effective and permitted sets, and tsrun follows Docker.
 * Inheritable and ambient are always empty (CVE-2022-24769: inheritable
 * capabilities would pass to a program run through a file capability).
 */
export function capabilitySets(caps: readonly string[], uid: number): OciCapabilities {
  const list = [...caps];
  return {
    bounding: list,
    effective: uid === 0 ? [...list] : [],
    permitted: uid === 0 ? [...list] : [],
    inheritable: [],
    ambient: [],
  };
}
