// The Dockerfile instructions `import --change` and `commit --change`
// accept (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR,
// STOPSIGNAL), applied to an image's runtime config with the builder's own
// parser, decoder and config rules (build/), so a change means exactly
// what the same line means in a Dockerfile.
import { decodeInstruction } from '../../build/dockerfile/decode.js';
import { parseDockerfile } from '../../build/dockerfile/parser.js';
import type { Instruction } from '../../build/dockerfile/types.js';
import { applyMetadata, envMap, resolveWorkdir, type StageState } from '../../build/stage.js';
import { TsrunError } from '../../errors.js';
import type { ImageRuntimeConfig } from '../config.js';

export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'USER', 'VOLUME', 'WORKDIR', 'STOPSIGNAL'] as const;

function bad(message: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', message);
}

function decode(line: string, cfg: ImageRuntimeConfig): Instruction {
  const m = /^\s*([A-Za-z]+)/.exec(line);
  if (!m) throw bad(`invalid change ${JSON.stringify(line)}`);
  if (!(CHANGE_INSTRUCTIONS as readonly string[]).includes(m[1].toUpperCase())) {
    throw bad(`${m[1]} is not a valid change command (use one of ${CHANGE_INSTRUCTIONS.join(', ')})`);
  }
  if (line.includes('\n')) throw bad(`invalid change ${JSON.stringify(line)}: one instruction, on one line`);
  try {
    const df = parseDockerfile(`FROM scratch\n${line}\n`);
    const env = envMap(cfg.Env ?? []);
    return decodeInstruction(df.stages[0].instructions[0], (n) => env.get(n), df.escape);
  } catch (err) {
    const why = (err as Error).message.replace(/^dockerfile parse error on line \d+: /, '');
    throw bad(`invalid change ${JSON.stringify(line)}: ${why}`);
  }
}

function checkSignal(signal: string): void {
  if (!/^(?:SIG)?[A-Z][A-Z0-9+-]*$|^\d+$/i.test(signal)) throw bad(`STOPSIGNAL: invalid signal ${JSON.stringify(signal)}`);
}

/** Applies the `--change` lines to `cfg` (changed in place), in order, as one Dockerfile stage would. */
export function applyChanges(cfg: ImageRuntimeConfig, lines: string[]): ImageRuntimeConfig {
  const st: StageState = {
    index: 0, config: { architecture: '', os: '', config: cfg, rootfs: { type: 'layers', diff_ids: [] } },
    layers: [], args: new Map(), key: '', cmdSet: false, time: '',
  };
  for (const line of lines) {
    const ins = decode(line, cfg);
    if (ins.kind === 'WORKDIR') cfg.WorkingDir = resolveWorkdir(cfg.WorkingDir, ins.path);
    else {
      if (ins.kind === 'STOPSIGNAL') checkSignal(ins.signal);
      try {
        applyMetadata(st, ins);
      } catch (err) {
        throw bad(`invalid change ${JSON.stringify(line)}: ${(err as Error).message}`);
      }
    }
  }
  return cfg;
}
