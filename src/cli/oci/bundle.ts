// Reads a bundle's config.json and applies the runtime's rules to it
// (runtime/oci-features.ts), with the host's cgroup layout filled in.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { cgroupMode } from '../../cgroups/index.js';
import { native } from '../../native/binding.js';
import { readSpec } from '../../runtime/engine.js';
import { prepareBundleSpec, v1HierarchiesFromMountinfo, type HostCgroups, type PreparedSpec } from '../../runtime/oci-features.js';

export function hostCgroups(): HostCgroups {
  const mode = cgroupMode({ native });
  if (mode === 'v2') return { mode };
  let mountinfo = '';
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    // No /proc: no v1 hierarchies to offer a cgroup namespace.
  }
  return { mode, v1Hierarchies: v1HierarchiesFromMountinfo(mountinfo) };
}

export async function loadBundle(bundle: string, opts: { systemdCgroup?: boolean }): Promise<PreparedSpec & { bundle: string }> {
  const dir = resolve(bundle);
  return { bundle: dir, ...prepareBundleSpec(await readSpec(dir), hostCgroups(), opts) };
}
