// RawInstruction → typed Instruction, with variables substituted exactly
// where Docker substitutes them: ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL
// USER VOLUME WORKDIR, ARG names and defaults, and the values of --from,
// --chown, --chmod, --platform, --checksum, --exclude and --mount. The
// command text of RUN, CMD, ENTRYPOINT, SHELL and HEALTHCHECK is left alone:
// the shell inside the container expands it.
//
// The rules and messages follow BuildKit's frontend/dockerfile/instructions
// (parse.go, bflag.go, runmount.go). Every error names the Dockerfile line.
//
// The same code runs twice: once at parse time without variables
// (checkInstruction: syntax, flag names, argument counts), so a broken file
// fails before any step runs, and once per step with the stage's variables.
import { TsrunError } from '../../errors.js';
import { ExpandError, expandHeredoc, expandWord, lex, type EscapeChar } from './expand.js';
import type { HealthcheckSpec, Heredoc, Instruction, Lookup, RawInstruction, RunMount } from './types.js';

export const INSTRUCTION_NAMES = [
  'FROM', 'RUN', 'CMD', 'LABEL', 'MAINTAINER', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT',
  'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL',
] as const;

/** The one error shape of the Dockerfile frontend: BuildKit's "dockerfile parse error on line N: ...". */
export function dockerfileError(line: number, message: string): TsrunError {
  return new TsrunError('DOCKERFILE_INVALID', `dockerfile parse error on line ${line}: ${message}`);
}

export function unknownInstructionMessage(keyword: string, suggestion?: string): string {
  return `unknown instruction: ${keyword}${suggestion ? ` (did you mean ${suggestion.toLowerCase()}?)` : ''}`;
}

/** A rule broken inside an instruction; turned into dockerfileError with the line at the top. */
class Invalid extends Error {}
function fail(message: string): never {
  throw new Invalid(message);
}

const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;
const WHITESPACE_RE = /[\t\v\f\r ]+/;
const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

/** How values are expanded: with the stage's variables, or (check mode) not at all. */
interface Ctx {
  escape: EscapeChar;
  /** undefined in check mode: words are only checked for syntax, references stay as written. */
  lookup: Lookup | undefined;
}

function x(ctx: Ctx, word: string): string {
  if (ctx.lookup) return expandWord(word, ctx.lookup, ctx.escape);
  // Check mode: catches unbalanced quotes and bad ${} syntax now.
  return lex(word, () => undefined, { escape: ctx.escape, skipUnsetEnv: true }).word;
}

// A value still holding a reference was not really expanded (check mode):
// checks of its final form wait for the real values.
const unresolved = (ctx: Ctx, value: string): boolean => !ctx.lookup && value.includes('$');

// ---- flags (bflag.go) ------------------------------------------------------

type FlagKind = 'string' | 'bool' | 'strings';
type FlagValues = Map<string, string | boolean | string[]>;

function parseFlags(raw: RawInstruction, spec: Record<string, FlagKind>): FlagValues {
  const values: FlagValues = new Map();
  for (const flag of raw.flags) {
    if (!flag.startsWith('--')) fail(`Arg should start with -- : ${flag}`);
    const body = flag.slice(2);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const value = eq >= 0 ? body.slice(eq + 1) : undefined;
    const kind = spec[name];
    if (!kind) fail(`Unknown flag: ${name}`);
    if (values.has(name) && kind !== 'strings') fail(`Duplicate flag specified: ${name}`);
    if (kind === 'bool') {
      if (value === '') fail(`Missing a value on flag: ${name}`);
      const lower = value?.toLowerCase();
      if (lower !== undefined && lower !== 'true' && lower !== 'false') {
        fail(`Expecting boolean value for flag ${name}, not: ${value}`);
      }
      values.set(name, lower !== 'false');
    } else {
      if (value === undefined) fail(`Missing a value on flag: ${name}`);
      if (kind === 'strings') values.set(name, [...((values.get(name) as string[] | undefined) ?? []), value!]);
      else values.set(name, value!);
    }
  }
  return values;
}

const str = (flags: FlagValues, name: string): string | undefined => flags.get(name) as string | undefined;

// ---- words (line_parsers.go parseWords) ------------------------------------

/** Splits at whitespace outside quotes, keeping quotes and escapes for the expansion that follows. */
export function splitWordsKeepQuotes(rest: string, escape: EscapeChar): string[] {
  const words: string[] = [];
  const chars = Array.from(rest);
  let word = '';
  let inWord = false;
  let blankOk = false;
  let quote = '';
  for (let i = 0; i < chars.length; i++) {
    let ch = chars[i]!;
    if (!inWord && !quote) {
      if (/\s/.test(ch)) continue;
      inWord = true;
    }
    if (quote) {
      if (ch === quote) quote = '';
      else if (ch === escape && quote !== "'") {
        if (i + 1 === chars.length) continue;
        word += ch;
        ch = chars[++i]!;
      }
      word += ch;
      continue;
    }
    if (/\s/.test(ch)) {
      if (blankOk || word.length > 0) words.push(word);
      word = '';
      inWord = false;
      blankOk = false;
      continue;
    }
    if (ch === "'" || ch === '"') {
      quote = ch;
      blankOk = true;
    }
    if (ch === escape) {
      if (i + 1 === chars.length) continue; // an escape at the very end is dropped
      word += ch;
      ch = chars[++i]!;
    }
    word += ch;
  }
  if (inWord && (blankOk || word.length > 0)) words.push(word);
  return words;
}

const fields = (args: string): string[] => args.split(WHITESPACE_RE).filter((w) => w !== '');

// ---- the instructions ------------------------------------------------------

/** `K=V K2="v 2"` pairs, or the legacy `K some value` (one pair). line_parsers.go parseNameVal. */
function nameValues(ctx: Ctx, raw: RawInstruction): Array<[string, string]> {
  const words = splitWordsKeepQuotes(raw.args, ctx.escape);
  if (words.length === 0) fail(`${raw.cmd} requires at least one argument`);
  let pairs: Array<[string, string]>;
  if (!words[0]!.includes('=')) {
    const m = /^(\S+)[\t\v\f\r ]+([\s\S]+)$/.exec(raw.args);
    if (!m) fail(`${raw.cmd} must have two arguments`);
    pairs = [[m![1]!, m![2]!]];
  } else {
    pairs = words.map((word) => {
      const eq = word.indexOf('=');
      if (eq < 0) fail(`Syntax error - can't find = in ${JSON.stringify(word)}. Must be of the form: name=value`);
      return [word.slice(0, eq), word.slice(eq + 1)];
    });
  }
  // Every value sees the variables as they were before this instruction:
  // `ENV a=1 b=$a` gives b the old a (Docker's one value per instruction).
  return pairs.map(([k, v]) => {
    if (k === '') fail(`${raw.cmd} names can not be blank`);
    const key = x(ctx, k);
    if (key === '' && ctx.lookup) fail(`${raw.cmd} names can not be blank`);
    return [key, x(ctx, v)];
  });
}

function decodeFrom(ctx: Ctx, raw: RawInstruction): Instruction {
  const flags = parseFlags(raw, { platform: 'string' });
  const args = fields(raw.args);
  let name: string | undefined;
  if (args.length === 3 && args[1]!.toLowerCase() === 'as') {
    name = args[2]!.toLowerCase();
    if (!STAGE_NAME_RE.test(name)) {
      fail(`invalid name for build stage: ${JSON.stringify(args[2])}, name can't start with a number or contain symbols`);
    }
  } else if (args.length !== 1) {
    fail('FROM requires either one or three arguments');
  }
  const image = x(ctx, args[0]!);
  if (image === '') fail(`base name (${args[0]}) should not be blank`);
  const out: Instruction = { kind: 'FROM', image };
  if (name !== undefined) out.name = name;
  const platform = str(flags, 'platform');
  if (platform !== undefined) out.platform = x(ctx, platform);
  return out;
}

function decodeRun(ctx: Ctx, raw: RawInstruction): Instruction {
  const flags = parseFlags(raw, { mount: 'strings', network: 'string', security: 'string' });
  const mounts = ((flags.get('mount') as string[] | undefined) ?? []).map((m) => parseMount(ctx, m));
  const out: Extract<Instruction, { kind: 'RUN' }> = {
    kind: 'RUN',
    command: raw.json ? { exec: raw.json } : { shell: raw.args },
    mounts,
    heredocs: raw.heredocs,
  };
  const network = str(flags, 'network');
  if (network !== undefined) {
    if (network !== 'default' && network !== 'none' && network !== 'host') {
      fail(`unsupported network mode ${JSON.stringify(network)} (use default, none or host)`);
    }
    out.network = network as 'default' | 'none' | 'host';
  }
  const security = str(flags, 'security');
  if (security === 'insecure') {
    fail('RUN --security=insecure is not supported: tsrun runs build steps with the same isolation as tsrun run');
  } else if (security !== undefined && security !== 'sandbox') {
    fail(`unsupported security mode ${JSON.stringify(security)}`);
  }
  if (!raw.json && raw.args.trim() === '') fail('RUN requires at least one argument');
  return out;
}

// strconv.ParseBool
function parseBool(key: string, value: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  return fail(`invalid value for ${key}: ${value}`);
}

// docker/go-units RAMInBytes: binary multiples, optional "i"/"b".
function parseBytes(value: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$/i.exec(value);
  if (!m) return fail(`invalid size: '${value}'`);
  const power = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * 1024 ** power);
}

/** Splits a --mount value into fields as Go's csv reader would: commas, double quotes. */
function csvFields(value: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (quoted) {
      if (ch === '"' && value[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      out.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) fail(`invalid mount ${JSON.stringify(value)}: unterminated quote`);
  out.push(field);
  return out;
}

const MOUNT_TYPES = new Set(['bind', 'cache', 'tmpfs', 'secret', 'ssh']);

/**
 * One `--mount=` value (runmount.go). Defaults Docker applies are filled in so
 * the builder need not know them: type bind; bind and secret/ssh mounts
 * read-only unless rw; a cache's id is its target; a secret's id is the base
 * name of its target and its target /run/secrets/<id>.
 */
function parseMount(ctx: Ctx, spec: string): RunMount {
  const parts = csvFields(spec).map((f) => f.trim()).filter((f) => f !== '');
  const typeField = parts.find((p) => p.toLowerCase().startsWith('type='));
  const type = typeField ? typeField.slice(5) : 'bind';
  if (!MOUNT_TYPES.has(type)) fail(`unsupported mount type ${JSON.stringify(type)}`);
  const m: RunMount = { type: type as RunMount['type'] };
  let readonly: boolean | undefined;

  for (const part of parts) {
    const eq = part.indexOf('=');
    const key = (eq >= 0 ? part.slice(0, eq) : part).toLowerCase();
    const rawValue = eq >= 0 ? part.slice(eq + 1) : undefined;
    if (rawValue === undefined) {
      if (['readonly', 'ro'].includes(key)) readonly = true;
      else if (['rw', 'readwrite'].includes(key)) readonly = false;
      else if (key === 'required') m.required = true;
      else fail(`invalid field '${part}' must be a key=value pair`);
      continue;
    }
    const value = x(ctx, rawValue);
    const check = !unresolved(ctx, value);
    switch (key) {
      case 'type':
        break;
      case 'target':
      case 'dst':
      case 'destination':
        m.target = value;
        break;
      case 'source':
      case 'src':
        m.source = value;
        break;
      case 'from':
        m.from = value;
        break;
      case 'id':
        m.id = value;
        break;
      case 'readonly':
      case 'ro':
        if (check) readonly = parseBool(key, value);
        break;
      case 'rw':
      case 'readwrite':
        if (check) readonly = !parseBool(key, value);
        break;
      case 'required':
        if (check) m.required = parseBool(key, value);
        break;
      case 'sharing':
        if (check && !['shared', 'private', 'locked'].includes(value)) {
          fail(`unsupported sharing value ${JSON.stringify(value)}`);
        }
        m.sharing = value;
        break;
      case 'mode':
        if (check) {
          if (!/^[0-7]+$/.test(value)) fail(`invalid value for mode: ${value}`);
          m.mode = parseInt(value, 8);
        }
        break;
      case 'uid':
      case 'gid':
        if (check) {
          if (!/^\d+$/.test(value)) fail(`invalid value for ${key}: ${value}`);
          m[key] = Number(value);
        }
        break;
      case 'size':
        if (check) m.size = parseBytes(value);
        break;
      case 'env':
        m.env = value;
        break;
      default:
        fail(`unexpected key '${key}' in '${part}'`);
    }
  }

  if (m.type === 'bind' || m.type === 'cache' || m.type === 'tmpfs') {
    if (!m.target) fail(`--mount type=${m.type} requires a target`);
  }
  if (m.type === 'cache' && m.id === undefined && m.target) m.id = m.target;
  if (m.type === 'secret') {
    if (m.source !== undefined && m.id !== undefined) fail("both source and id can't be set");
    if (m.source !== undefined) {
      m.id = m.source;
      delete m.source;
    }
    if (!m.id && !m.target && !m.env) fail('invalid secret mount. one of source, target required');
    if (!m.id && m.target) m.id = m.target.split('/').filter(Boolean).pop() ?? m.target;
    if (!m.target && !m.env) m.target = `/run/secrets/${m.id}`;
  }
  m.readonly = readonly ?? (m.type === 'bind' || m.type === 'secret' || m.type === 'ssh');
  return m;
}

function decodeCopy(ctx: Ctx, raw: RawInstruction): Instruction {
  const isAdd = raw.cmd === 'ADD';
  const flags = parseFlags(
    raw,
    isAdd
      ? { chown: 'string', chmod: 'string', link: 'bool', exclude: 'strings', checksum: 'string', 'keep-git-dir': 'bool' }
      : { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'strings' },
  );
  const words = raw.json ?? fields(raw.args);
  if (words.length < 2) {
    fail(`${raw.cmd} requires at least two arguments, but only one was provided. Destination could not be determined`);
  }
  const destWord = words[words.length - 1]!;
  if (!raw.json && HEREDOC_RE.test(destWord) && heredocName(destWord) !== undefined) {
    fail(`${raw.cmd} cannot accept a heredoc as a destination`);
  }
  const sources = words.slice(0, -1).map((src) => {
    // A `<<EOF` source is the heredoc of that name, left unexpanded.
    const name = raw.json ? undefined : heredocName(src);
    return name ?? x(ctx, src);
  });
  const heredocs: Heredoc[] = raw.heredocs.map((h) =>
    h.expand && ctx.lookup ? { ...h, content: expandHeredoc(h.content, ctx.lookup) } : h,
  );
  const out: Extract<Instruction, { kind: 'COPY' | 'ADD' }> = {
    kind: isAdd ? 'ADD' : 'COPY',
    sources,
    dest: x(ctx, destWord),
    link: (flags.get('link') as boolean | undefined) ?? false,
    parents: (flags.get('parents') as boolean | undefined) ?? false,
    exclude: ((flags.get('exclude') as string[] | undefined) ?? []).map((e) => x(ctx, e)),
    heredocs,
  };
  for (const key of ['from', 'chown', 'chmod', 'checksum'] as const) {
    const value = str(flags, key);
    if (value !== undefined) out[key] = x(ctx, value);
  }
  if (isAdd) out.keepGitDir = (flags.get('keep-git-dir') as boolean | undefined) ?? false;
  return out;
}

function heredocName(word: string): string | undefined {
  const m = HEREDOC_RE.exec(word);
  if (!m || m[3] === '') return undefined;
  const words = lex(m[3]!, () => undefined, { skipUnsetEnv: true }).words;
  return words.length === 1 ? words[0] : undefined;
}

/** Exactly one argument, the whole rest of the line (line_parsers.go parseString). */
function single(raw: RawInstruction): string {
  if (raw.args.trim() === '') fail(`${raw.cmd} requires exactly one argument`);
  return raw.args;
}

function decodeCommand(raw: RawInstruction): Instruction {
  parseFlags(raw, {});
  const kind = raw.cmd as 'CMD' | 'ENTRYPOINT';
  if (raw.json) return { kind, command: { exec: raw.json } };
  // A bare CMD/ENTRYPOINT has no command at all (Docker: an empty list).
  if (raw.args.trim() === '') return { kind, command: { exec: [] } };
  return { kind, command: { shell: raw.args } };
}

// Go's time.ParseDuration, in nanoseconds.
const UNITS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

export function parseGoDuration(text: string): number {
  const bad = (): never => fail(`time: invalid duration ${JSON.stringify(text)}`);
  let s = text;
  let sign = 1;
  if (s.startsWith('-') || s.startsWith('+')) {
    if (s[0] === '-') sign = -1;
    s = s.slice(1);
  }
  if (s === '0') return 0;
  if (s === '') bad();
  let total = 0;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    if (m[0] === '' || m[0] === '.' || (m[1] === '' && (m[2] ?? '') === '')) bad();
    const number = Number(`${m[1] || '0'}.${m[2] || '0'}`);
    s = s.slice(m[0].length);
    const u = /^[^\d.]+/.exec(s);
    if (!u) fail(`time: missing unit in duration ${JSON.stringify(text)}`);
    const unit = UNITS[u![0]];
    if (unit === undefined) fail(`time: unknown unit ${JSON.stringify(u![0])} in duration ${JSON.stringify(text)}`);
    total += number * unit!;
    s = s.slice(u![0].length);
  }
  return sign * Math.round(total);
}

const MINIMUM_DURATION = 1e6; // 1ms, Docker's container.MinimumDuration

function decodeHealthcheck(raw: RawInstruction): Instruction {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(raw.args.trim());
  if (!m) return fail('HEALTHCHECK requires at least one argument');
  const type = m[1]!.toUpperCase();
  const rest = m[2]!;
  if (type === 'NONE') {
    if (rest.trim() !== '') fail('HEALTHCHECK NONE takes no arguments');
    return { kind: 'HEALTHCHECK', check: { test: ['NONE'] } };
  }
  const flags = parseFlags(raw, {
    interval: 'string', timeout: 'string', 'start-period': 'string', 'start-interval': 'string', retries: 'string',
  });
  if (type !== 'CMD') fail(`Unknown type ${JSON.stringify(type)} in HEALTHCHECK (try CMD)`);
  let test: string[];
  if (raw.json) test = ['CMD', ...raw.json];
  else test = ['CMD-SHELL', rest.trim()];
  if (test.length === 1 || (!raw.json && rest.trim() === '')) fail('Missing command after HEALTHCHECK CMD');

  const check: HealthcheckSpec = { test };
  const durations = [
    ['interval', 'interval'],
    ['timeout', 'timeout'],
    ['start-period', 'startPeriod'],
    ['start-interval', 'startInterval'],
  ] as const;
  for (const [flag, field] of durations) {
    const value = str(flags, flag);
    if (value === undefined || value === '') continue;
    const ns = parseGoDuration(value);
    if (ns === 0) continue; // 0 means "the default", as in Docker
    if (ns < MINIMUM_DURATION) fail(`Interval ${JSON.stringify(flag)} cannot be less than 1ms`);
    check[field] = ns;
  }
  const retries = str(flags, 'retries');
  if (retries !== undefined && retries !== '') {
    if (!/^[-+]?\d+$/.test(retries)) fail(`strconv.ParseInt: parsing ${JSON.stringify(retries)}: invalid syntax`);
    const n = Number(retries);
    if (n < 0) fail(`--retries cannot be negative (${n})`);
    if (n > 0) check.retries = n;
  }
  return { kind: 'HEALTHCHECK', check };
}

// `80`, `80/tcp`, `8000-8010/udp` (docker/go-connections nat.ParsePortSpec, container side).
function checkPort(spec: string): string {
  const slash = spec.indexOf('/');
  const port = slash >= 0 ? spec.slice(0, slash) : spec;
  const proto = slash >= 0 ? spec.slice(slash + 1).toLowerCase() : '';
  if (proto !== '' && !['tcp', 'udp', 'sctp'].includes(proto)) fail(`invalid proto: ${spec.slice(slash + 1)}`);
  const m = /^(\d+)(?:-(\d+))?$/.exec(port);
  if (!m) return fail(`invalid containerPort: ${port}`);
  const start = Number(m[1]);
  const end = m[2] !== undefined ? Number(m[2]) : start;
  if (start > 65535 || end > 65535) fail(`invalid containerPort: ${port}`);
  if (end < start) fail(`invalid range specified for container port: ${port}`);
  return proto ? `${port}/${proto}` : port;
}

function decodeOnbuild(raw: RawInstruction): Instruction {
  parseFlags(raw, {});
  const m = /^(\S+)/.exec(raw.args.trim());
  if (!m) return fail('ONBUILD requires at least one argument');
  const trigger = m[1]!.toUpperCase();
  if (trigger === 'ONBUILD') fail('Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  if (trigger === 'MAINTAINER' || trigger === 'FROM') fail(`${trigger} isn't allowed as an ONBUILD trigger`);
  if (!(INSTRUCTION_NAMES as readonly string[]).includes(trigger)) fail(unknownInstructionMessage(m[1]!));
  // The trigger as written, heredoc bodies appended so it parses again later.
  let text = raw.original.replace(/^\s*ONBUILD\s*/i, '');
  for (const h of raw.heredocs) text += `\n${h.content}${h.name}`;
  return { kind: 'ONBUILD', trigger: text };
}

function decode(ctx: Ctx, raw: RawInstruction): Instruction {
  switch (raw.cmd) {
    case 'FROM':
      return decodeFrom(ctx, raw);
    case 'RUN':
      return decodeRun(ctx, raw);
    case 'COPY':
    case 'ADD':
      return decodeCopy(ctx, raw);
    case 'CMD':
    case 'ENTRYPOINT':
      return decodeCommand(raw);
    case 'HEALTHCHECK':
      return decodeHealthcheck(raw);
    case 'ONBUILD':
      return decodeOnbuild(raw);
    case 'SHELL': {
      parseFlags(raw, {});
      if (!raw.json) {
        if (raw.args.trim() === '') fail('SHELL requires at least one argument');
        fail('SHELL requires the arguments to be in JSON form');
      }
      if (raw.json!.length === 0) fail('SHELL requires at least one argument');
      return { kind: 'SHELL', shell: raw.json! };
    }
    case 'ENV':
    case 'LABEL': {
      parseFlags(raw, {});
      return { kind: raw.cmd, pairs: nameValues(ctx, raw) };
    }
    case 'ARG': {
      parseFlags(raw, {});
      const words = splitWordsKeepQuotes(raw.args, ctx.escape);
      if (words.length === 0) fail('ARG requires at least one argument');
      const args = words.map((word) => {
        const eq = word.indexOf('=');
        if (eq === 0) fail('ARG names can not be blank');
        if (eq < 0) return { name: x(ctx, word) };
        return { name: x(ctx, word.slice(0, eq)), default: x(ctx, word.slice(eq + 1)) };
      });
      return { kind: 'ARG', args };
    }
    case 'WORKDIR':
      parseFlags(raw, {});
      return { kind: 'WORKDIR', path: x(ctx, single(raw)) };
    case 'USER':
      parseFlags(raw, {});
      return { kind: 'USER', user: x(ctx, single(raw)) };
    case 'STOPSIGNAL':
      parseFlags(raw, {});
      return { kind: 'STOPSIGNAL', signal: x(ctx, single(raw)) };
    case 'MAINTAINER':
      parseFlags(raw, {});
      return { kind: 'MAINTAINER', name: single(raw) };
    case 'EXPOSE': {
      parseFlags(raw, {});
      const words = fields(raw.args);
      if (words.length === 0) fail('EXPOSE requires at least one argument');
      // A variable may hold several ports (`EXPOSE $PORTS`).
      const ports = words.flatMap((w) => fields(x(ctx, w)));
      return { kind: 'EXPOSE', ports: ports.map((p) => (unresolved(ctx, p) ? p : checkPort(p))) };
    }
    case 'VOLUME': {
      parseFlags(raw, {});
      const words = raw.json ?? fields(raw.args);
      if (words.length === 0) fail('VOLUME requires at least one argument');
      const paths = words.map((w) => {
        const path = x(ctx, w).trim();
        if (path === '') fail('VOLUME specified can not be an empty string');
        return path;
      });
      return { kind: 'VOLUME', paths };
    }
    default:
      return fail(unknownInstructionMessage(raw.cmd));
  }
}

function withLine<T>(raw: RawInstruction, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Invalid || err instanceof ExpandError) throw dockerfileError(raw.line, err.message);
    throw err;
  }
}

/**
 * The checks that need no variable: flag names, duplicates and booleans,
 * argument counts, FROM's form, SHELL's JSON form, ONBUILD's trigger, quote
 * and `${}` syntax. The parser runs it on every instruction.
 */
export function checkInstruction(raw: RawInstruction, escape: EscapeChar = '\\'): void {
  withLine(raw, () => decode({ escape, lookup: undefined }, raw));
}

/**
 * The typed instruction, with variables substituted from `lookup` (the
 * stage's ARG/ENV state before this instruction) where Docker substitutes.
 * Throws TsrunError('DOCKERFILE_INVALID') naming the line.
 */
export function decodeInstruction(raw: RawInstruction, lookup: Lookup, escape: EscapeChar): Instruction {
  return withLine(raw, () => decode({ escape, lookup }, raw));
}
