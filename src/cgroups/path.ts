// Where a container's cgroup lives, relative to the hierarchy root(s).

import path from 'node:path';
import { TsrunError } from '../errors.js';

export const DEFAULT_CGROUP_PARENT = 'tsrun';

/**
 * The OCI spec's linux.cgroupsPath, or `<parent>/<id>` without one.
 * "/a/b" is taken from the hierarchy root; a relative "a/b" goes below the
 * parent (the spec leaves relative paths to the runtime). systemd's
 * "slice:prefix:name" form needs the systemd D-Bus API, which tsrun does
 * not speak.
 */
export function resolveCgroupPath(cgroupsPath: string | undefined, id: string, parent = DEFAULT_CGROUP_PARENT): string {
  if (!id || id.includes('/') || id === '.' || id === '..') {
    throw new TsrunError('INVALID_ARGUMENT', `invalid container id ${JSON.stringify(id)} for a cgroup name`);
  }
  if (!cgroupsPath) return clean(`${parent}/${id}`, 'cgroup parent', parent);
  if (!cgroupsPath.startsWith('/') && cgroupsPath.split(':').length === 3) {
    throw new TsrunError(
      'UNSUPPORTED',
      `systemd cgroup paths are not supported; use cgroupfs (a path such as /tsrun/${id}) instead of ${JSON.stringify(cgroupsPath)}`,
    );
  }
  return clean(cgroupsPath.startsWith('/') ? cgroupsPath : `${parent}/${cgroupsPath}`, 'cgroupsPath', cgroupsPath);
}

function clean(p: string, what: string, original: string): string {
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) throw new TsrunError('INVALID_ARGUMENT', `${what} ${JSON.stringify(original)} must not contain '..'`);
  if (parts.length === 0) throw new TsrunError('INVALID_ARGUMENT', `${what} ${JSON.stringify(original)} names the root cgroup`);
  if (p.includes('\0')) throw new TsrunError('INVALID_ARGUMENT', `${what} ${JSON.stringify(original)} contains a NUL byte`);
  return path.posix.join(...parts);
}

/** createCgroup/openCgroup take only what resolveCgroupPath returns: relative, normalised, not the root. */
export function checkRelPath(relPath: string): void {
  const parts = relPath.split('/');
  if (relPath === '' || relPath.includes('\0') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new TsrunError('INVALID_ARGUMENT', `invalid cgroup path ${JSON.stringify(relPath)}: expected a relative path such as tsrun/ID`);
  }
}
