// The build context and the Dockerfile, as `docker build` takes them:
//   CONTEXT a directory: the Dockerfile is -f (relative to the current
//     directory, as the docker CLI reads it) or CONTEXT/Dockerfile;
//   CONTEXT '-': stdin holds a tar (plain or compressed) of the context, or
//     a bare Dockerfile with an empty context;
//   -f '-': the Dockerfile comes from stdin.
// .dockerignore: `<Dockerfile>.dockerignore` beside the Dockerfile wins over
// CONTEXT/.dockerignore.
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { basename, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { TsrunError } from '../errors.js';
import type { UnpackNative } from '../image/unpack/layer.js';
import { resolveInRoot } from '../util/resolve-in-root.js';
import { extractArchive } from './add.js';
import { IgnoreMatcher, dockerignorePathFor, parseDockerignore } from './context/dockerignore.js';
import type { SourceFilter } from './sources.js';

export interface PreparedContext {
  dir: string;
  dockerfile: string;
  dockerfileName: string;
  ignore?: SourceFilter;
}

async function readAll(input: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new TsrunError('INVALID_ARGUMENT', `${what} ${path} does not exist`);
    if (code === 'EISDIR') throw new TsrunError('INVALID_ARGUMENT', `${what} ${path} is a directory`);
    throw err;
  }
}

export async function prepareContext(opts: { context: string; file?: string; stdin: Readable; workDir: string; native: UnpackNative }): Promise<PreparedContext> {
  let dir: string;
  let dockerfile: string | undefined;
  let dockerfilePath: string | undefined;
  if (opts.context === '-') {
    if (opts.file === '-') throw new TsrunError('INVALID_ARGUMENT', 'invalid argument: can\'t use stdin for both build context and dockerfile');
    // Streamed to a file: a context tar can be large; only a bare Dockerfile is read back whole.
    const file = join(opts.workDir, 'context.input');
    await pipeline(opts.stdin, createWriteStream(file, { mode: 0o600 }));
    const extracted = (await stat(file)).size ? await extractArchive(file, opts.workDir, opts.native) : null;
    if (extracted) dir = extracted;
    else {
      // Not an archive: the input is the Dockerfile, the context is empty.
      dir = join(opts.workDir, 'empty-context');
      await mkdir(dir, { recursive: true });
      dockerfile = await readFile(file, 'utf8');
    }
  } else {
    dir = resolve(opts.context);
    const st = await stat(dir).catch(() => null);
    if (!st) throw new TsrunError('INVALID_ARGUMENT', `unable to prepare context: path "${opts.context}" not found`);
    if (!st.isDirectory()) throw new TsrunError('INVALID_ARGUMENT', `unable to prepare context: ${opts.context} is not a directory`);
  }
  // A path inside a context that came as a tar (from stdin, or the Engine
  // API's /build) is resolved inside it: a symlink there must not lead out.
  const inContext = (p: string): Promise<string> => (opts.context === '-' ? resolveInRoot(dir, p) : Promise.resolve(join(dir, p)));
  if (opts.file === '-') dockerfile = (await readAll(opts.stdin)).toString('utf8');
  else if (dockerfile === undefined) {
    dockerfilePath = opts.file ? (opts.context === '-' ? await inContext(opts.file) : resolve(opts.file)) : await inContext('Dockerfile');
    if (!opts.file) {
      const lower = await inContext('dockerfile');
      if (!(await stat(dockerfilePath).catch(() => null)) && (await stat(lower).catch(() => null))) dockerfilePath = lower;
    }
    dockerfile = await readText(dockerfilePath, 'the Dockerfile');
  }
  let ignoreText: string | undefined;
  if (dockerfilePath) ignoreText = await readFile(dockerignorePathFor(dockerfilePath), 'utf8').catch(() => undefined);
  ignoreText ??= await readFile(await inContext('.dockerignore'), 'utf8').catch(() => undefined);
  return {
    dir,
    dockerfile,
    dockerfileName: dockerfilePath ? basename(dockerfilePath) : 'Dockerfile',
    ...(ignoreText !== undefined ? { ignore: new IgnoreMatcher(parseDockerignore(ignoreText)) } : {}),
  };
}
