// The Dockerfile instructions `import --change` (and `commit --change`)
// accept, applied to an image's runtime config the way the Docker builder
// applies them: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME, WORKDIR,
// STOPSIGNAL. CMD/ENTRYPOINT take the JSON form (["a","b"]) or the shell
// form (→ ["/bin/sh","-c","..."]); ENV and LABEL take key=value pairs
// (quotes and backslashes as in a Dockerfile) or the legacy `ENV KEY value`.
import { posix } from 'node:path';
import { TsrunError } from '../../errors.js';
import type { ImageRuntimeConfig } from '../config.js';

export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'USER', 'VOLUME', 'WORKDIR', 'STOPSIGNAL'] as const;

function bad(message: string): TsrunError {
  return new TsrunError('INVALID_ARGUMENT', message);
}

/** A JSON array of strings, or undefined when `s` is not one (then it is shell form). */
function jsonArray(s: string): string[] | undefined {
  if (!s.startsWith('[')) return undefined;
  try {
    const v = JSON.parse(s) as unknown;
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v;
  } catch {
    // not JSON: Docker treats it as shell form too
  }
  return undefined;
}

/** Splits words the way a Dockerfile does for ENV/LABEL: quotes group, backslash escapes. */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (quote) throw bad(`unmatched ${quote} in ${JSON.stringify(s)}`);
  if (inWord) words.push(cur);
  return words;
}

/** ENV/LABEL arguments → pairs. `KEY value with spaces` (legacy) or `K=v K2="v 2"`. */
export function keyValues(instr: string, args: string): Array<[string, string]> {
  const words = splitWords(args);
  if (words.length === 0) throw bad(`${instr} needs at least one argument`);
  if (!words[0].includes('=')) {
    // Legacy form: the first word is the key, the rest (as written) the value.
    const m = /^\s*(\S+)\s+(.*)$/s.exec(args);
    if (!m) throw bad(`${instr} ${words[0]} needs a value`);
    return [[words[0], splitWords(m[2]).join(' ')]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw bad(`${instr}: ${JSON.stringify(w)} is not KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

/** Applies one `--change` line to `cfg` (changed in place). */
export function applyChange(cfg: ImageRuntimeConfig, line: string): void {
  const m = /^\s*([A-Za-z]+)(?:\s+(.*))?$/s.exec(line);
  if (!m) throw bad(`invalid change ${JSON.stringify(line)}`);
  const instr = m[1].toUpperCase();
  const args = (m[2] ?? '').trim();
  if (!(CHANGE_INSTRUCTIONS as readonly string[]).includes(instr)) {
    throw bad(`${m[1]} is not a valid change command (use one of ${CHANGE_INSTRUCTIONS.join(', ')})`);
  }
  const command = (): string[] => jsonArray(args) ?? ['/bin/sh', '-c', args];
  switch (instr) {
    case 'CMD':
      cfg.Cmd = command();
      return;
    case 'ENTRYPOINT':
      cfg.Entrypoint = args === '' ? null : command();
      return;
    case 'ENV': {
      const env = [...(cfg.Env ?? [])];
      for (const [k, v] of keyValues(instr, args)) {
        const i = env.findIndex((e) => e.split('=')[0] === k);
        if (i >= 0) env[i] = `${k}=${v}`;
        else env.push(`${k}=${v}`);
      }
      cfg.Env = env;
      return;
    }
    case 'LABEL':
      cfg.Labels = { ...(cfg.Labels ?? {}), ...Object.fromEntries(keyValues(instr, args)) };
      return;
    case 'EXPOSE': {
      const ports = splitWords(args);
      if (ports.length === 0) throw bad('EXPOSE needs at least one port');
      cfg.ExposedPorts ??= {};
      for (const p of ports) {
        const pm = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i.exec(p);
        if (!pm) throw bad(`EXPOSE: invalid port ${JSON.stringify(p)}`);
        const lo = Number(pm[1]);
        const hi = pm[2] ? Number(pm[2]) : lo;
        if (lo < 1 || hi > 65535 || hi < lo) throw bad(`EXPOSE: invalid port range ${JSON.stringify(p)}`);
        for (let port = lo; port <= hi; port++) cfg.ExposedPorts[`${port}/${(pm[3] ?? 'tcp').toLowerCase()}`] = {};
      }
      return;
    }
    case 'USER':
      if (!args) throw bad('USER needs a user');
      cfg.User = args;
      return;
    case 'VOLUME': {
      const vols = jsonArray(args) ?? splitWords(args);
      if (vols.length === 0) throw bad('VOLUME needs at least one path');
      cfg.Volumes ??= {};
      for (const v of vols) cfg.Volumes[v] = {};
      return;
    }
    case 'WORKDIR':
      if (!args) throw bad('WORKDIR needs a path');
      cfg.WorkingDir = posix.resolve(cfg.WorkingDir || '/', args);
      return;
    case 'STOPSIGNAL':
      if (!/^(?:SIG)?[A-Z0-9+-]+$|^\d+$/i.test(args)) throw bad(`STOPSIGNAL: invalid signal ${JSON.stringify(args)}`);
      cfg.StopSignal = args;
      return;
  }
}

export function applyChanges(cfg: ImageRuntimeConfig, lines: string[]): ImageRuntimeConfig {
  for (const l of lines) applyChange(cfg, l);
  return cfg;
}
