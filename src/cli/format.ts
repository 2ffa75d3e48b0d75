// Docker's output shapes: commands, aligned tables, sizes, --format.
// (Human durations: util/human-duration.ts; status strings: runtime/status-text.ts.)

/** Docker quotes the command and cuts it at 20 characters with an ellipsis. */
export function commandText(args: string[], truncate: boolean): string {
  const full = args.join(' ');
  return JSON.stringify(truncate && full.length > 20 ? `${full.slice(0, 19)}…` : full);
}

/** Columns separated by at least three spaces, as Docker's tabwriter prints them. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

/** go-units BytesSize: 1.5MiB, 512B. */
export function bytesSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  // go-units prints %.4g: four significant digits.
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

/** go-units HumanSize (decimal, %.4g), as `docker images` prints SIZE. */
export function decimalSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(4))}${units[i]}`;
}

/**
 * A list verb's --format, as Docker reads it: none, '' or `table` → the
 * verb's own table; `json` → one JSON object per line; anything else is a
 * Go template (`table ...` adds a header row from `header`, which names
 * each field's column). The template is parsed here, before the verb reads
 * anything, and the engine loads only for a template.
 */
export async function listFormat(format: string | undefined, header: object): Promise<(rows: () => object[], ownTable: () => string) => string> {
  if (format === undefined || format === '' || format === 'table') return (_rows, ownTable) => ownTable();
  if (format === 'json') return (rows) => jsonLines(rows());
  const { listFormatter } = await import('../template/index.js');
  const formatter = listFormatter(format, header);
  return (rows) => formatter.render(rows());
}

/**
 * An inspect verb's -f/--format: the template over each document (none,
 * '' or `json`: undefined, the JSON array). `maps` are the documents'
 * map-valued fields (a missing key there prints `<no value>`; elsewhere a
 * missing field is an error, as in Go), `[path, ""]` for string maps.
 */
export async function inspectFormat(format: string | undefined, maps: ReadonlyArray<string | [string, unknown]> = []): Promise<((doc: unknown) => string) | undefined> {
  if (format === undefined || format === '' || format === 'json') return undefined;
  const { inspectFormatter, markMapPaths } = await import('../template/index.js');
  const render = inspectFormatter(format);
  return (doc) => render(markMapPaths(doc, maps));
}

/** Docker's .Labels column: `k=v` pairs, comma-separated (in key order here). */
export function labelsText(labels: Record<string, string> | undefined): string {
  return Object.keys(labels ?? {}).sort().map((k) => `${k}=${labels![k]}`).join(',');
}

/** Gives a list row Docker's `.Label "key"` method (not part of its JSON). */
export function withLabelMethod<T extends object>(row: T, labels: Record<string, string> | undefined): T {
  Object.defineProperty(row, 'Label', { value: (key: string) => labels?.[key] ?? '', enumerable: false });
  return row;
}

/** One JSON document per line, as Docker's `--format json` prints lists. */
export function jsonLines(docs: unknown[]): string {
  return docs.map((d) => `${JSON.stringify(d)}\n`).join('');
}
