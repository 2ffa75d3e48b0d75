// Docker's --format around the template engine (src/template/docker-format.ts
// and src/cli/format.ts): `table` with its header row, `\t` escapes, Go's
// tabwriter, `json`, inspect's one-output-per-document, and error wording.
import { describe, expect, it } from 'vitest';
import { inspectFormat, listFormat, withLabelMethod } from '../../src/cli/format.js';
import { listFormatter, tabwrite } from '../../src/template/index.js';
import { rejection, thrown } from '../helpers/expect-error.js';

const HEADER = { ID: 'CONTAINER ID', Names: 'NAMES', Labels: 'LABELS', Label: (_k: string) => 'LABEL', Status: 'STATUS' };
const rows = [
  withLabelMethod({ ID: 'abc', Names: 'web', Labels: 'app=shop', Status: 'Up 1 second' }, { app: 'shop' }),
  withLabelMethod({ ID: 'def', Names: 'database-primary', Labels: '', Status: 'Exited (0)' }, {}),
];

describe('list --format', () => {
  it('a plain template prints one line per item, with \\t and \\n typed in the shell as tab and newline', () => {
    expect(listFormatter('{{.Names}}', HEADER).render(rows)).toBe('web\ndatabase-primary\n');
    expect(listFormatter('{{.ID}}\\t{{.Label "app"}}', HEADER).render(rows)).toBe('abc\tshop\ndef\t\n');
    expect(listFormatter('{{.Names}}', HEADER).render([])).toBe('');
  });

  it('table adds the header row (the template over the column names) and aligns columns as Docker\'s tabwriter', () => {
    expect(listFormatter('table {{.ID}}\\t{{.Names}}\\t{{.Status}}', HEADER).render(rows)).toBe(
      'CONTAINER ID   NAMES              STATUS\n' +
      'abc            web                Up 1 second\n' +
      'def            database-primary   Exited (0)\n',
    );
    // Header functions leave the names alone; .Label "x" is the LABEL column.
    expect(listFormatter('table {{upper .Names}}: {{.Label "app"}}', HEADER).render(rows)).toBe('NAMES: LABEL\nWEB: shop\nDATABASE-PRIMARY: \n');
    expect(listFormatter('table {{.ID}}\\t{{.Names}}', HEADER).render([])).toBe('CONTAINER ID   NAMES\n');
  });

  it('json prints the rows\' JSON (without methods), none and table the verb\'s own table', async () => {
    const own = () => 'OWN\n';
    expect((await listFormat('json', HEADER))(() => rows, own)).toBe(
      '{"ID":"abc","Names":"web","Labels":"app=shop","Status":"Up 1 second"}\n{"ID":"def","Names":"database-primary","Labels":"","Status":"Exited (0)"}\n',
    );
    expect((await listFormat(undefined, HEADER))(() => rows, own)).toBe('OWN\n');
    expect((await listFormat('table', HEADER))(() => rows, own)).toBe('OWN\n');
    expect((await listFormat('{{json .}}', HEADER))(() => rows.slice(0, 1), own)).toBe('{"ID":"abc","Names":"web","Labels":"app=shop","Status":"Up 1 second"}\n');
  });

  it('refuses a broken template before any row, and an unknown field at the first row, in Docker\'s words', async () => {
    expect((await rejection(listFormat('{{.Names', HEADER))).message).toBe('template parsing error: template: :1: unclosed action');
    expect(thrown(() => listFormatter('{{.Nope}}', HEADER).render(rows)).message)
      .toBe('template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type struct');
  });
});

describe('inspect -f', () => {
  it('runs over each document, one line each, with the known maps reading a missing key as <no value>', async () => {
    const f = (await inspectFormat('{{.State.Status}} {{.Config.Labels.x}} {{index .Config.Labels "x"}}|{{.HostConfig.Annotations}}', [['Config.Labels', ''], ['HostConfig.Annotations', '']]))!;
    expect(f({ State: { Status: 'running' }, Config: { Labels: {} }, HostConfig: {} })).toBe('running <no value> |map[]\n');
    expect(await inspectFormat(undefined)).toBeUndefined();
    expect(await inspectFormat('json')).toBeUndefined();
    // No escapes for inspect: \t stays as typed, as in Docker.
    expect((await inspectFormat('{{.A}}\\t'))!({ A: 1 })).toBe('1\\t\n');
  });
});

describe('tabwrite (Go text/tabwriter: minwidth 10, padding 3)', () => {
  it('pads every tab-terminated cell to its column block\'s width; the last cell is not padded', () => {
    expect(tabwrite('a\tbb\tc\nlonger-cell\tb\tc\n')).toBe('a             bb        c\nlonger-cell   b         c\n');
    expect(tabwrite('no tabs\n')).toBe('no tabs\n');
    // A line without the column ends its block: the blocks are aligned apart.
    expect(tabwrite('aaaaaaaaaaaaa\tb\nx\n\ty\n', 0, 1)).toBe('aaaaaaaaaaaaa b\nx\n y\n');
    expect(tabwrite('é\tx\n', 0, 1)).toBe('é x\n');
  });
});

