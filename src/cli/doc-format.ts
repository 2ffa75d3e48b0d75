// The --format of info and version (Docker's inspect-style: one document):
// none for the human text, `json` (or `{{json .}}`) for JSON, anything else
// a Go template (src/template), compiled before any work so a bad one fails
// first.
export type DocFormat = { kind: 'text' } | { kind: 'json' } | { kind: 'template'; render: (doc: unknown) => string };

export async function docFormat(format: string | undefined): Promise<DocFormat> {
  if (format === undefined || format === '') return { kind: 'text' };
  if (format === 'json' || format === '{{json .}}') return { kind: 'json' };
  const { inspectFormatter } = await import('../template/index.js');
  return { kind: 'template', render: inspectFormatter(format) };
}

/** Marks the objects that are Go maps in Docker's types, so templates range over them and read a missing key as <no value>. */
export async function markMaps(...objects: object[]): Promise<void> {
  const { markMap } = await import('../template/index.js');
  for (const o of objects) markMap(o);
}
