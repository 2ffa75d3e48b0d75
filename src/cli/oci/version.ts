// `--version` in runc's shape, and the commit it was built from (read from
// the checkout's .git without running git; "unknown" outside a checkout).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { OCI_VERSION } from '../../spec/oci.js';

// dist/cli/oci/ and src/cli/oci/ both sit three levels below the package root.
const PKG_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export const VERSION: string = (() => {
  try {
    return (JSON.parse(read(`${PKG_ROOT}package.json`) ?? '{}') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

export function gitCommit(): string {
  const head = read(`${PKG_ROOT}.git/HEAD`)?.trim();
  if (!head) return 'unknown';
  if (/^[0-9a-f]{40}$/.test(head)) return head;
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  if (!ref) return 'unknown';
  const loose = read(`${PKG_ROOT}.git/${ref}`)?.trim();
  if (loose && /^[0-9a-f]{40}$/.test(loose)) return loose;
  const packed = read(`${PKG_ROOT}.git/packed-refs`) ?? '';
  const line = packed.split('\n').find((l) => l.endsWith(` ${ref}`));
  return line?.split(' ')[0] ?? 'unknown';
}

export function versionText(): string {
  return `tsrun-oci version ${VERSION}\ncommit: ${gitCommit()}\nspec: ${OCI_VERSION}`;
}
