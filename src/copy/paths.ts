// Docker's cp argument and path conventions (docker/cli cp.go and
// moby's pkg/archive copy.go), as plain functions.

/**
 * `CONTAINER:PATH` or a local path. As Docker (and scp): an absolute path,
 * or one starting with '.', is local even with a ':' in it
 * (`./file:name.txt`); otherwise what comes before the first ':' is a container.
 */
export function splitCpArg(arg: string): { container?: string; path: string } {
  if (arg.startsWith('/')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0 || arg.startsWith('.')) return { path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export function hasTrailingSeparator(p: string): boolean {
  return p.length > 0 && p.endsWith('/');
}

/** `dir/.` (or `.`): the contents of dir, not dir itself. */
export function specifiesCurrentDir(p: string): boolean {
  return p === '.' || p.endsWith('/.');
}

/** A trailing '/' or '/.' asks for a directory, so a symlink there is followed. */
export function followsFinal(p: string): boolean {
  return hasTrailingSeparator(p) || specifiesCurrentDir(p) || p === '..' || p.endsWith('/..');
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units' HumanSizeWithPrecision(n, 3): decimal units, three significant digits ("1.5kB", "13B", "2.05MB"). */
export function humanSize(n: number): string {
  let size = n;
  let i = 0;
  while (size >= 1000 && i < UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  // Go's %.3g: exponent form once rounding reaches 1000 (999.5kB → "1e+03kB").
  const p = Number(size.toPrecision(3));
  const text = p >= 1000 ? `${(p / 1000).toString()}e+03` : String(p);
  return `${text}${UNITS[i]}`;
}

/** docker cp's last line: "Successfully copied 5B (transferred 2.05kB) to /tmp/x". */
export function copySummary(contentSize: number, transferred: number, dest: string): string {
  if (contentSize !== transferred) return `Successfully copied ${humanSize(contentSize)} (transferred ${humanSize(transferred)}) to ${dest}`;
  return `Successfully copied ${humanSize(contentSize)} to ${dest}`;
}
