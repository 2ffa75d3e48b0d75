// run/create's --label, --label-file and --annotation parsers, shared by the CLI and the API service (Docker's Labels and Annotations).
import { readFileSync } from 'node:fs';
import { TsrunError } from '../errors.js';

function pair(value: string, what: 'label' | 'annotation'): [string, string] {
  const eq = value.indexOf('=');
  const key = eq < 0 ? value : value.slice(0, eq);
  if (key.trim() === '') throw new TsrunError('INVALID_ARGUMENT', `invalid ${what} '${value}': empty name`);
  return [key, eq < 0 ? '' : value.slice(eq + 1)];
}

/** Docker's parseKeyValueFile for labels: lines without `=` are skipped; a key with white space in it is an error. */
function labelFileLines(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TsrunError('INVALID_ARGUMENT', `cannot read label file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const lines: string[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq < 0) return;
    const key = line.slice(0, eq);
    if (/\s/.test(key)) throw new TsrunError('INVALID_ARGUMENT', `invalid label file ${file}: variable '${key}' contains whitespaces (line ${i + 1})`);
    if (key === '') throw new TsrunError('INVALID_ARGUMENT', `invalid label file ${file}: no variable name on line '${line}'`);
    lines.push(line);
  });
  return lines;
}

/**
 * --label-file files, then --label flags → the container's labels (undefined
 * when none), read as Docker's CLI reads them (opts.ValidateLabel,
 * opts.ReadKVStrings): `k=v`, or `k` alone for an empty value; files hold
 * one `k=v` a line, with `#` comments and blank lines skipped; flags
 * override files, later values earlier ones.
 */
export function parseLabelFlags(labels: string[] = [], files: string[] = []): Record<string, string> | undefined {
  const all = [...files.flatMap(labelFileLines), ...labels];
  return all.length ? Object.fromEntries(all.map((l) => pair(l, 'label'))) : undefined;
}

/** --annotation flags → OCI annotations (undefined when none). */
export function parseAnnotationFlags(values: string[] = []): Record<string, string> | undefined {
  return values.length ? Object.fromEntries(values.map((v) => pair(v, 'annotation'))) : undefined;
}
