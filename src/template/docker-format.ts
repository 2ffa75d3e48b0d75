// Docker's --format handling around the engine (docker/cli's formatter
// and inspect packages): a list template may start with `table`, which
// adds a header row (the same template run over the column names) and
// aligns the columns as Go's tabwriter does; `\t` and `\n` typed in the
// shell are tab and newline. Each item prints on its own line.
import { TsrunError } from '../errors.js';
import { HEADER_FUNCS } from './docker-funcs.js';
import { compile, type Template } from './compile.js';

export interface ListFormatter {
  /** Whether the output has a header row. */
  readonly table: boolean;
  /** Every item through the template, one line each (with the header row first for `table`); throws on a template error, having printed nothing. */
  render(items: unknown[]): string;
}

/** Docker's `template parsing error: ...` wording around the engine's errors. */
function wrap<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof TsrunError && err.message.startsWith('template: ')) {
      throw new TsrunError('INVALID_ARGUMENT', `template parsing error: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/**
 * A list verb's --format template (not `json` or a bare `table`, which the
 * verbs print themselves). `header` holds each field's column name, as the
 * verb's data holds its value (a method such as `Label` gives its name too).
 */
export function listFormatter(format: string, header: object): ListFormatter {
  const table = format.startsWith('table');
  const text = (table ? format.slice('table'.length) : format).replace(/^ +| +$/g, '').replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  const tmpl: Template = wrap(() => compile(text));
  return {
    table,
    render(items) {
      const rows = wrap(() => items.map((item) => `${tmpl.execute(item)}\n`).join(''));
      if (!table) return rows;
      // Docker ignores a header that fails (a function given a column name where it wants a list, say).
      let head = '';
      try {
        head = tmpl.execute(header, HEADER_FUNCS);
      } catch {
        /* the header row stays empty */
      }
      return tabwrite(`${head}\n${rows}`);
    },
  };
}

/** `inspect -f`: the template over each document, one output per line (no `table`, no escapes: Docker's inspect). */
export function inspectFormatter(format: string): (doc: unknown) => string {
  const tmpl = wrap(() => compile(format));
  return (doc) => wrap(() => `${tmpl.execute(doc)}\n`);
}

/**
 * Go's text/tabwriter as Docker configures it (minwidth 10, padding 3,
 * spaces): a tab ends a cell, and each column of consecutive lines that
 * have that cell is as wide as its widest cell plus the padding.
 */
export function tabwrite(text: string, minwidth = 10, padding = 3): string {
  const endsWithNewline = text.endsWith('\n');
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  const out: string[] = [];
  const width = (s: string) => [...s].length;
  const writeLines = (from: number, to: number) => {
    for (let i = from; i < to; i++) {
      out.push(lines[i].map((c, j) => (j < widths.length ? c + ' '.repeat(Math.max(0, widths[j] - width(c))) : c)).join(''));
    }
  };
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= lines[cur].length - 1) continue;
      writeLines(line0, cur);
      line0 = cur;
      let w = minwidth;
      for (; cur < line1; cur++) {
        if (column >= lines[cur].length - 1) break;
        w = Math.max(w, width(lines[cur][column]) + padding);
      }
      widths.push(w);
      format(line0, cur);
      widths.pop();
      line0 = cur;
    }
    writeLines(line0, line1);
  };
  format(0, lines.length);
  return out.join('\n') + (endsWithNewline ? '\n' : '');
}
