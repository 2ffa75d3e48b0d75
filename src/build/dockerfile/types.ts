// The Dockerfile as the parser hands it to the builder. Two levels:
//  - RawInstruction: one instruction as written (continuations joined,
//    heredoc bodies collected), nothing expanded yet: expansion needs the
//    stage's ARG/ENV state at that point, which only the builder has.
//  - Instruction: the typed, decoded form (decode.ts), made by the builder
//    with the variables of that moment, so `ENV a=1 b=$a` sees the old a.

/** A heredoc body attached to an instruction (`RUN <<EOF`, `COPY <<A <<B /dst/`). */
export interface Heredoc {
  /** The delimiter word without quotes or the `<<`/`<<-` (EOF). */
  name: string;
  /** The body, lines joined with '\n' and ending in '\n' (Docker keeps the final newline); tabs already stripped for `<<-`. */
  content: string;
  /** false when the delimiter was quoted ('EOF' or "EOF"): no variable expansion in the body. */
  expand: boolean;
  /** `<<-EOF`: leading tabs were stripped. */
  chomp: boolean;
  /** `3<<EOF` style redirection prefix, when present. */
  fileDescriptor?: number;
}

export interface RawInstruction {
  /** Upper-cased keyword: 'RUN', 'COPY', ... (unknown keywords are rejected by the parser with their line). */
  cmd: string;
  /** The instruction's text as written, continuations joined into one line (for history and messages). */
  original: string;
  /** 1-based line of the keyword, and of the instruction's last line (heredoc bodies included). */
  line: number;
  endLine: number;
  /** Leading `--name[=value]` flags, raw (not expanded), in order: ['--from=build', '--chown=1:1']. */
  flags: string[];
  /** The arguments after the flags, continuations joined (the escape char + newline removed), not expanded. */
  args: string;
  /** When `args` is a JSON array of strings (exec form), its elements. */
  json?: string[];
  heredocs: Heredoc[];
}

export interface Dockerfile {
  /** From `# escape=` (default '\\'). */
  escape: '\\' | '`';
  /** From `# syntax=` (accepted, reported as ignored by the builder). */
  syntax?: string;
  /** Top-level ARGs before the first FROM (global scope: visible only in FROM lines unless redeclared). */
  globalArgs: RawInstruction[];
  stages: RawStage[];
  /** Non-fatal findings (e.g. empty continuation lines), each with its line. */
  warnings: string[];
}

export interface RawStage {
  /** 0-based position. */
  index: number;
  /** The FROM instruction. */
  from: RawInstruction;
  /** Everything after FROM up to the next FROM. */
  instructions: RawInstruction[];
}

/** A shell-like variable lookup: undefined when the variable is not set. */
export type Lookup = (name: string) => string | undefined;

/** Parsed `--mount=...` of RUN (values expanded). */
export interface RunMount {
  type: 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';
  target?: string;
  source?: string;
  from?: string;
  id?: string;
  readonly?: boolean;
  /** cache: shared|private|locked */
  sharing?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  size?: number;
  required?: boolean;
  env?: string;
}

export interface HealthcheckSpec {
  /** ['NONE'] or ['CMD', ...args] or ['CMD-SHELL', script]; Docker's Healthcheck.Test. */
  test: string[];
  /** Nanoseconds, as Docker stores them; absent = default. */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  startInterval?: number;
  retries?: number;
}

/** Docker's command forms: exec (JSON) or shell (joined to the stage's SHELL by the builder). */
export type CommandForm = { exec: string[] } | { shell: string };

export type Instruction =
  | { kind: 'FROM'; image: string; name?: string; platform?: string }
  | { kind: 'RUN'; command: CommandForm; mounts: RunMount[]; network?: 'default' | 'none' | 'host'; heredocs: Heredoc[] }
  | {
      kind: 'COPY' | 'ADD';
      /** Sources as written after expansion (globs not yet matched); heredocs appear as sources named by Heredoc.name. */
      sources: string[];
      dest: string;
      from?: string;
      chown?: string;
      chmod?: string;
      link: boolean;
      parents: boolean;
      exclude: string[];
      /** ADD only */
      checksum?: string;
      keepGitDir?: boolean;
      heredocs: Heredoc[];
    }
  | { kind: 'WORKDIR'; path: string }
  | { kind: 'ENV'; pairs: Array<[string, string]> }
  | { kind: 'ARG'; args: Array<{ name: string; default?: string }> }
  | { kind: 'CMD' | 'ENTRYPOINT'; command: CommandForm }
  | { kind: 'USER'; user: string }
  | { kind: 'EXPOSE'; ports: string[] }
  | { kind: 'LABEL'; pairs: Array<[string, string]> }
  | { kind: 'VOLUME'; paths: string[] }
  | { kind: 'STOPSIGNAL'; signal: string }
  | { kind: 'SHELL'; shell: string[] }
  | { kind: 'HEALTHCHECK'; check: HealthcheckSpec }
  | { kind: 'ONBUILD'; trigger: string }
  | { kind: 'MAINTAINER'; name: string };
