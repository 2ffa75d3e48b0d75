// tsrun's version and the commit it was built from: in core because `tsrun version`, the API's /version and tsrun-oci all report them.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// dist/system/ and src/system/ both sit two levels below the package root.
const PKG_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** package.json's version ("unknown" when it cannot be read). */
export const VERSION: string = (() => {
  try {
    return (JSON.parse(read(`${PKG_ROOT}package.json`) ?? '{}') as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

/** The commit the checkout is at, read from its .git without running git; "unknown" outside a checkout. */
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
