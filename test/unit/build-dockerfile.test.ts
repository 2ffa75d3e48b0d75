// The Dockerfile parser (src/build/dockerfile/parser.ts) and instruction
// decoder (decode.ts): every syntax rule of the Dockerfile reference that
// tsrun build supports, error messages and their line numbers included.
import { describe, expect, it } from 'vitest';
import { TsrunError } from '../../src/errors.js';
import { decodeInstruction, parseGoDuration } from '../../src/build/dockerfile/decode.js';
import { parseDockerfile } from '../../src/build/dockerfile/parser.js';
import type { Instruction, Lookup, RawInstruction } from '../../src/build/dockerfile/types.js';

const df = (...lines: string[]): ReturnType<typeof parseDockerfile> => parseDockerfile(lines.join('\n') + '\n');
/** All instructions of the first stage, FROM first. */
const first = (...lines: string[]): RawInstruction[] => {
  const s = df(...lines).stages[0]!;
  return [s.from, ...s.instructions];
};
/** The second instruction (the one after `FROM x`). */
const only = (...lines: string[]): RawInstruction => first('FROM x', ...lines)[1]!;

function parseError(text: string): TsrunError {
  try {
    parseDockerfile(text);
  } catch (err) {
    expect(err).toBeInstanceOf(TsrunError);
    expect((err as TsrunError).code).toBe('DOCKERFILE_INVALID');
    return err as TsrunError;
  }
  throw new Error('expected a parse error');
}

const env = (vars: Record<string, string>): Lookup => (name) => (Object.hasOwn(vars, name) ? vars[name] : undefined);
const none: Lookup = () => undefined;
const dec = (line: string, lookup: Lookup = none): Instruction => {
  const d = df('FROM x', line);
  return decodeInstruction(d.stages[0]!.instructions[0]!, lookup, d.escape);
};
function decodeError(line: string, lookup: Lookup = none): string {
  const d = df('FROM x', line);
  try {
    decodeInstruction(d.stages[0]!.instructions[0]!, lookup, d.escape);
  } catch (err) {
    expect((err as TsrunError).code).toBe('DOCKERFILE_INVALID');
    return (err as Error).message;
  }
  throw new Error('expected a decode error');
}

describe('parser: structure', () => {
  it('numbers lines from 1 and keeps the instruction as written', () => {
    const d = df('FROM alpine:3.19', '', 'run   echo hi');
    expect(d.stages).toHaveLength(1);
    expect(d.stages[0]!.from).toMatchObject({ cmd: 'FROM', line: 1, endLine: 1, args: 'alpine:3.19', original: 'FROM alpine:3.19' });
    expect(d.stages[0]!.instructions[0]).toMatchObject({ cmd: 'RUN', line: 3, args: 'echo hi', original: 'run   echo hi', flags: [], heredocs: [] });
  });

  it('accepts keywords in any case', () => {
    const ins = first('from x', 'Run a', 'cOpY a b', 'ENTRYPOINT ["x"]');
    expect(ins.map((i) => i.cmd)).toEqual(['FROM', 'RUN', 'COPY', 'ENTRYPOINT']);
  });

  it('splits stages at each FROM, with 0-based indexes', () => {
    const d = df('FROM a AS build', 'RUN make', 'FROM b', 'COPY --from=build /x /y', 'CMD ["y"]');
    expect(d.stages.map((s) => [s.index, s.from.args, s.instructions.map((i) => i.cmd)])).toEqual([
      [0, 'a AS build', ['RUN']],
      [1, 'b', ['COPY', 'CMD']],
    ]);
  });

  it('puts ARGs before the first FROM in globalArgs', () => {
    const d = df('ARG VERSION=1', 'ARG BASE', 'FROM alpine:$VERSION', 'ARG VERSION');
    expect(d.globalArgs.map((a) => a.args)).toEqual(['VERSION=1', 'BASE']);
    expect(d.stages[0]!.instructions.map((i) => i.args)).toEqual(['VERSION']);
  });

  it('rejects any other instruction before the first FROM, naming its line', () => {
    expect(parseError('# c\nARG a\nRUN echo\nFROM x\n').message).toBe(
      'dockerfile parse error on line 3: no build stage in current context: RUN before the first FROM (only ARG may come before FROM)',
    );
  });

  it('rejects a file without FROM and an empty file', () => {
    expect(parseError('ARG a\n').message).toMatch(/^dockerfile parse error on line 1: dockerfile contains no stages to build/);
    expect(parseError('ARG a\n').message).toMatch(/no FROM instruction/);
    expect(parseError('# only a comment\n\n').message).toBe('dockerfile parse error on line 2: file with no instructions');
    expect(parseError('').message).toMatch(/file with no instructions/);
  });

  it('rejects unknown instructions with their line and a suggestion', () => {
    expect(parseError('FROM x\n\nRUN a\nFOO bar\n').message).toBe('dockerfile parse error on line 4: unknown instruction: FOO');
    expect(parseError('FROM x\nCOPPY a b\n').message).toBe('dockerfile parse error on line 2: unknown instruction: COPPY (did you mean copy?)');
    expect(parseError('FROM x\nentrypiont ["a"]\n').message).toMatch(/unknown instruction: entrypiont \(did you mean entrypoint\?\)/);
  });

  it('reports the line where a continued instruction starts', () => {
    expect(parseError('FROM x\nRUN a \\\n  b\nBAD \\\n  thing\n').message).toMatch(/^dockerfile parse error on line 4: unknown instruction: BAD/);
  });

  it('handles CRLF line endings and a byte-order mark', () => {
    const d = parseDockerfile('\uFEFFFROM x\r\nRUN a \\\r\n  b\r\n');
    expect(d.stages[0]!.instructions[0]!.args).toBe('a   b');
  });

  it('strips leading whitespace of an instruction line', () => {
    expect(only('    RUN   indented').args).toBe('indented');
  });
});

describe('parser: comments and continuations', () => {
  it('removes comment lines, also indented ones', () => {
    const ins = first('# top', 'FROM x', '   # indented comment', 'RUN a # not a comment');
    expect(ins.map((i) => i.args)).toEqual(['x', 'a # not a comment']);
  });

  it('joins continuation lines without the escape char and newline', () => {
    const r = only('RUN apt-get update && \\', '    apt-get install -y curl');
    expect(r.args).toBe('apt-get update &&     apt-get install -y curl');
    expect(r.original).toBe('RUN apt-get update &&     apt-get install -y curl');
    expect(r.line).toBe(2);
    expect(r.endLine).toBe(3);
  });

  it('allows whitespace after the escape char', () => {
    expect(only('RUN a \\  \t', 'b').args).toBe('a b');
  });

  it('drops comment lines inside a continuation', () => {
    const r = only('RUN a \\', '# comment', '  # indented comment', '  b');
    expect(r.args).toBe('a   b');
    expect(r.endLine).toBe(5);
  });

  it('skips blank lines inside a continuation with a warning naming the line', () => {
    const d = df('FROM x', 'RUN a \\', '', '   ', 'b');
    expect(d.stages[0]!.instructions[0]!.args).toBe('a b');
    expect(d.warnings).toHaveLength(1);
    expect(d.warnings[0]).toMatch(/^line 2: empty continuation line found in: RUN a b/);
  });

  it('is not a continuation when the escape char is itself escaped', () => {
    const ins = first('FROM x', 'RUN echo a\\\\', 'RUN echo b');
    expect(ins.map((i) => i.args)).toEqual(['x', 'echo a\\\\', 'echo b']);
  });

  it('ends a continuation at the end of the file', () => {
    expect(parseDockerfile('FROM x\nRUN a \\').stages[0]!.instructions[0]!.args).toBe('a');
  });
});

describe('parser: directives', () => {
  it('reads # escape= and # syntax= at the top, case- and space-insensitively', () => {
    const d = df('#  ESCAPE = `', '# Syntax=docker/dockerfile:1', 'FROM x');
    expect(d.escape).toBe('`');
    expect(d.syntax).toBe('docker/dockerfile:1');
  });

  it('defaults to the backslash', () => {
    expect(df('FROM x').escape).toBe('\\');
    expect(df('FROM x').syntax).toBeUndefined();
  });

  it('treats a directive after a comment, blank line or instruction as a comment', () => {
    expect(df('# hello', '# escape=`', 'FROM x').escape).toBe('\\');
    expect(df('', '# escape=`', 'FROM x').escape).toBe('\\');
    expect(df('FROM x', '# escape=`', 'RUN a').escape).toBe('\\');
  });

  it('rejects a repeated directive and a bad escape token, naming the line', () => {
    expect(parseError('# escape=`\n# escape=\\\nFROM x\n').message).toBe(
      'dockerfile parse error on line 2: only one escape parser directive can be used',
    );
    expect(parseError('# escape=x\nFROM x\n').message).toMatch(/^dockerfile parse error on line 1: invalid escape token 'x'/);
  });

  it('with escape=` continues lines with a backtick and keeps Windows paths', () => {
    const d = df('# escape=`', 'FROM mcr.microsoft.com/windows/servercore', 'COPY testfile.txt c:\\', 'RUN dir c:\\ `', '    && echo done');
    const [copy, run] = d.stages[0]!.instructions;
    expect(copy!.args).toBe('testfile.txt c:\\');
    expect(run!.args).toBe('dir c:\\     && echo done');
    const decoded = decodeInstruction(copy!, none, d.escape);
    expect(decoded).toMatchObject({ kind: 'COPY', sources: ['testfile.txt'], dest: 'c:\\' });
  });

  it('with escape=` a trailing backslash does not continue the line', () => {
    const d = df('# escape=`', 'FROM x', 'WORKDIR c:\\', 'RUN a');
    expect(d.stages[0]!.instructions.map((i) => i.cmd)).toEqual(['WORKDIR', 'RUN']);
    expect(decodeInstruction(d.stages[0]!.instructions[0]!, none, '`')).toEqual({ kind: 'WORKDIR', path: 'c:\\' });
  });
});

describe('parser: flags', () => {
  it('splits leading --flags off the arguments', () => {
    const r = only('COPY --from=build --chown=1:1 --link src /dst/');
    expect(r.flags).toEqual(['--from=build', '--chown=1:1', '--link']);
    expect(r.args).toBe('src /dst/');
  });

  it('only takes flags at the start', () => {
    const r = only('RUN echo --not-a-flag');
    expect(r.flags).toEqual([]);
    expect(r.args).toBe('echo --not-a-flag');
  });

  it('removes quotes in flag values and ends flags at --', () => {
    expect(only('RUN --mount="type=cache,target=/root/.cache" make').flags).toEqual(['--mount=type=cache,target=/root/.cache']);
    const r = only('RUN --network=none -- --weird');
    expect(r.flags).toEqual(['--network=none']);
    expect(r.args).toBe('--weird');
  });

  it('rejects flags on instructions that take none, like Docker ("Unknown flag")', () => {
    expect(parseError('FROM x\nENV --foo=bar a=b\n').message).toBe('dockerfile parse error on line 2: Unknown flag: foo');
    expect(parseError('FROM x\nCMD --help\n').message).toBe('dockerfile parse error on line 2: Unknown flag: help');
    expect(parseError('FROM x\nWORKDIR --x /a\n').message).toMatch(/Unknown flag: x/);
  });

  it('rejects unknown and duplicate flags at parse time with the line', () => {
    expect(parseError('FROM x\n\nCOPY --frm=a b c\n').message).toBe('dockerfile parse error on line 3: Unknown flag: frm');
    expect(parseError('FROM x\nCOPY --from=a --from=b c d\n').message).toMatch(/line 2: Duplicate flag specified: from/);
    expect(parseError('FROM x\nCOPY --link=maybe a b\n').message).toMatch(/Expecting boolean value for flag link, not: maybe/);
    expect(parseError('FROM x\nCOPY --from a b\n').message).toMatch(/Missing a value on flag: from/);
    expect(parseError('FROM x\nADD --from=a b c\n').message).toMatch(/Unknown flag: from/);
    expect(parseError('FROM --plat=x y\n').message).toMatch(/line 1: Unknown flag: plat/);
  });
});

describe('parser: exec (JSON) form', () => {
  it('detects JSON arrays for RUN, CMD, ENTRYPOINT, SHELL, VOLUME, COPY and ADD', () => {
    const ins = first(
      'FROM x',
      'RUN ["echo", "a b"]',
      'CMD ["sleep","1"]',
      'ENTRYPOINT []',
      'SHELL ["/bin/bash", "-c"]',
      'VOLUME ["/data"]',
      'COPY ["a b", "/dst/"]',
      'ADD ["x", "/y"]',
    ).slice(1);
    expect(ins.map((i) => i.json)).toEqual([['echo', 'a b'], ['sleep', '1'], [], ['/bin/bash', '-c'], ['/data'], ['a b', '/dst/'], ['x', '/y']]);
  });

  it('falls back to shell form for invalid JSON, as Docker does', () => {
    const r = only("CMD ['single', 'quotes']");
    expect(r.json).toBeUndefined();
    expect(r.args).toBe("CMD ['single', 'quotes']".slice(4));
    expect(only('RUN [ -f /x ] && echo yes').json).toBeUndefined();
  });

  it('does not treat JSON as exec form for other instructions', () => {
    expect(only('WORKDIR ["a"]').json).toBeUndefined();
    expect(only('ENV ["a"] b').json).toBeUndefined();
  });

  it('rejects a JSON array of non-strings with Docker\'s message', () => {
    expect(parseError('FROM x\nCMD ["a", 1]\n').message).toBe(
      'dockerfile parse error on line 2: when using JSON array syntax, arrays must be comprised of strings only',
    );
  });

  it('records the exec form after the type word for HEALTHCHECK', () => {
    expect(only('HEALTHCHECK --interval=5s CMD ["curl", "-f", "http://x/"]').json).toEqual(['curl', '-f', 'http://x/']);
  });
});

describe('parser: heredocs', () => {
  it('collects a RUN <<EOF body, keeping the first line as args', () => {
    const r = only('RUN <<EOF', 'echo hello', 'echo $HOME', 'EOF', 'RUN after');
    expect(r.args).toBe('<<EOF');
    expect(r.heredocs).toEqual([{ name: 'EOF', content: 'echo hello\necho $HOME\n', expand: true, chomp: false }]);
    expect(r.line).toBe(2);
    expect(r.endLine).toBe(5);
    expect(first('FROM x', 'RUN <<EOF', 'a', 'EOF', 'RUN after').map((i) => i.args)).toEqual(['x', '<<EOF', 'after']);
  });

  it('keeps a command before the heredoc (python3 <<EOF)', () => {
    const r = only('RUN python3 <<EOF', 'print("hi")', 'EOF');
    expect(r.args).toBe('python3 <<EOF');
    expect(r.heredocs[0]!.content).toBe('print("hi")\n');
  });

  it('<<-EOF strips leading tabs from the body and the terminator', () => {
    const r = only('RUN <<-EOT', '\tif true; then', '\t\techo tab', '\tfi', '\tEOT');
    expect(r.heredocs[0]).toMatchObject({ name: 'EOT', chomp: true, content: 'if true; then\necho tab\nfi\n' });
  });

  it('without - a tab-indented terminator is part of the body', () => {
    const r = only('RUN <<EOT', '\tEOT', 'EOT');
    expect(r.heredocs[0]!.content).toBe('\tEOT\n');
  });

  it('quoted delimiters turn expansion off', () => {
    expect(only('RUN <<"EOF"', 'x', 'EOF').heredocs[0]).toMatchObject({ name: 'EOF', expand: false });
    expect(only("RUN <<'EOF'", 'x', 'EOF').heredocs[0]).toMatchObject({ name: 'EOF', expand: false });
    expect(only('RUN <<E"O"F', 'x', 'EOF').heredocs[0]).toMatchObject({ name: 'EOF', expand: false });
    expect(only('RUN <<EOF', 'x', 'EOF').heredocs[0]).toMatchObject({ expand: true });
  });

  it('reads several heredocs on one line in order', () => {
    const r = only('COPY <<FILE1 <<FILE2 /dest/', 'one', 'FILE1', 'two', 'two b', 'FILE2');
    expect(r.heredocs.map((h) => [h.name, h.content])).toEqual([['FILE1', 'one\n'], ['FILE2', 'two\ntwo b\n']]);
    expect(r.endLine).toBe(7);
  });

  it('accepts a file descriptor prefix', () => {
    const r = only('RUN cat 3<<EOF', 'x', 'EOF');
    expect(r.heredocs[0]).toMatchObject({ name: 'EOF', fileDescriptor: 3 });
  });

  it('does not read comments or continuations inside the body', () => {
    const r = only('RUN <<EOF', '# kept', 'a \\', 'EOF');
    expect(r.heredocs[0]!.content).toBe('# kept\na \\\n');
  });

  it('works for ADD and with flags before the heredoc', () => {
    const r = only('ADD --chmod=755 <<EOF /run.sh', '#!/bin/sh', 'EOF');
    expect(r.flags).toEqual(['--chmod=755']);
    expect(r.heredocs[0]!.content).toBe('#!/bin/sh\n');
  });

  it('is not a heredoc in RUN exec form, nor in other instructions, nor quoted', () => {
    expect(first('FROM x', 'RUN ["cat", "<<EOF"]', 'RUN after').map((i) => i.cmd)).toEqual(['FROM', 'RUN', 'RUN']);
    expect(only('RUN ["cat", "<<EOF"]').heredocs).toEqual([]);
    expect(first('FROM x', 'CMD cat <<EOF', 'RUN after').map((i) => i.cmd)).toEqual(['FROM', 'CMD', 'RUN']);
    expect(only('RUN echo "<<EOF"').heredocs).toEqual([]);
    expect(only('RUN cat <<<"here string"').heredocs).toEqual([]);
  });

  it('collects heredocs of an ONBUILD RUN trigger', () => {
    const r = only('ONBUILD RUN <<EOF', 'echo x', 'EOF');
    expect(r.heredocs[0]!.content).toBe('echo x\n');
  });

  it('reports a missing terminator with the opening line', () => {
    expect(parseError('FROM x\nRUN true\nRUN <<EOF\necho\nEOFX\n').message).toMatch(
      /^dockerfile parse error on line 3: unterminated heredoc: no line "EOF" closes the heredoc <<EOF/,
    );
  });

  it('keeps a last body line without newline as it is', () => {
    expect(parseDockerfile('FROM x\nRUN <<EOF\necho\nEOF').stages[0]!.instructions[0]!.heredocs[0]!.content).toBe('echo\n');
  });
});

describe('decode: FROM', () => {
  const from = (line: string, lookup: Lookup = none): Instruction => {
    const d = df(line);
    return decodeInstruction(d.stages[0]!.from, lookup, d.escape);
  };

  it('reads image, AS name (case-insensitive, folded) and --platform', () => {
    expect(from('FROM alpine')).toEqual({ kind: 'FROM', image: 'alpine' });
    expect(from('FROM --platform=linux/arm64 alpine:3 as Builder')).toEqual({ kind: 'FROM', image: 'alpine:3', name: 'builder', platform: 'linux/arm64' });
    expect(from('FROM scratch AS final')).toMatchObject({ image: 'scratch', name: 'final' });
  });

  it('expands the image and the platform', () => {
    const lookup = env({ V: '3.19', P: 'linux/amd64' });
    expect(from('FROM --platform=$P alpine:${V}', lookup)).toEqual({ kind: 'FROM', image: 'alpine:3.19', platform: 'linux/amd64' });
    expect(from('FROM alpine:${V:-latest}')).toMatchObject({ image: 'alpine:latest' });
  });

  it('rejects bad forms', () => {
    expect(parseError('FROM a b\n').message).toBe('dockerfile parse error on line 1: FROM requires either one or three arguments');
    expect(parseError('FROM a AS 1st\n').message).toMatch(/invalid name for build stage: "1st", name can't start with a number or contain symbols/);
    expect(parseError('FROM a AS b$c\n').message).toMatch(/invalid name for build stage/);
    const d = df('FROM $NOPE');
    expect(() => decodeInstruction(d.stages[0]!.from, none, '\\')).toThrow('dockerfile parse error on line 1: base name ($NOPE) should not be blank');
  });
});

describe('decode: RUN', () => {
  it('gives shell or exec form, unexpanded', () => {
    expect(dec('RUN echo $HOME', env({ HOME: 'nope' }))).toEqual({ kind: 'RUN', command: { shell: 'echo $HOME' }, mounts: [], heredocs: [] });
    expect(dec('RUN ["echo", "$HOME"]')).toMatchObject({ command: { exec: ['echo', '$HOME'] } });
  });

  it('keeps heredocs and the first line for the builder', () => {
    const d = df('FROM x', 'RUN <<EOF', 'echo $A', 'EOF');
    const r = decodeInstruction(d.stages[0]!.instructions[0]!, env({ A: 'no' }), '\\');
    expect(r).toMatchObject({ command: { shell: '<<EOF' }, heredocs: [{ name: 'EOF', content: 'echo $A\n' }] });
  });

  it('parses --mount with defaults, aliases and expanded values', () => {
    const r = dec('RUN --mount=type=cache,target=$D,sharing=locked,mode=0755,uid=1,gid=2 --mount=src=x,dst=/y,from=build,rw --mount=type=tmpfs,destination=/t,size=10m true', env({ D: '/root/.cache' }));
    expect(r).toMatchObject({
      kind: 'RUN',
      mounts: [
        { type: 'cache', target: '/root/.cache', id: '/root/.cache', sharing: 'locked', mode: 0o755, uid: 1, gid: 2, readonly: false },
        { type: 'bind', source: 'x', target: '/y', from: 'build', readonly: false },
        { type: 'tmpfs', target: '/t', size: 10 * 1024 * 1024, readonly: false },
      ],
    });
  });

  it('makes bind mounts read-only by default and honours ro/readonly', () => {
    expect(dec('RUN --mount=target=/src true')).toMatchObject({ mounts: [{ type: 'bind', target: '/src', readonly: true }] });
    expect(dec('RUN --mount=type=cache,target=/c,ro true')).toMatchObject({ mounts: [{ readonly: true }] });
    expect(dec('RUN --mount=type=cache,target=/c,readonly=false true')).toMatchObject({ mounts: [{ readonly: false }] });
    expect(dec('RUN --mount=type=cache,target=/c,id=mine true')).toMatchObject({ mounts: [{ id: 'mine' }] });
  });

  it('fills secret ids and targets as BuildKit does', () => {
    expect(dec('RUN --mount=type=secret,id=tok true')).toMatchObject({ mounts: [{ type: 'secret', id: 'tok', target: '/run/secrets/tok', readonly: true }] });
    expect(dec('RUN --mount=type=secret,target=/etc/key,required true')).toMatchObject({ mounts: [{ id: 'key', target: '/etc/key', required: true }] });
    expect(dec('RUN --mount=type=secret,id=tok,env=TOKEN true')).toMatchObject({ mounts: [{ id: 'tok', env: 'TOKEN' }] });
  });

  it('rejects bad mounts naming the line', () => {
    expect(parseError('FROM x\nRUN --mount=type=nfs,target=/x true\n').message).toBe('dockerfile parse error on line 2: unsupported mount type "nfs"');
    expect(parseError('FROM x\nRUN --mount=type=cache,foo=bar,target=/x true\n').message).toMatch(/unexpected key 'foo' in 'foo=bar'/);
    expect(parseError('FROM x\nRUN --mount=type=cache true\n').message).toMatch(/--mount type=cache requires a target/);
    expect(parseError('FROM x\nRUN --mount=type=cache,target=/x,sharing=some true\n').message).toMatch(/unsupported sharing value "some"/);
    expect(parseError('FROM x\nRUN --mount=type=cache,target=/x,mode=999 true\n').message).toMatch(/invalid value for mode: 999/);
    expect(parseError('FROM x\nRUN --mount=type=secret true\n').message).toMatch(/one of source, target required/);
  });

  it('validates --mount values that come from variables when decoding', () => {
    expect(decodeError('RUN --mount=type=cache,target=/x,mode=$M true', env({ M: 'abc' }))).toBe('dockerfile parse error on line 2: invalid value for mode: abc');
  });

  it('accepts --network default|none|host and rejects others', () => {
    expect(dec('RUN --network=none true')).toMatchObject({ network: 'none' });
    expect(dec('RUN --network=host true')).toMatchObject({ network: 'host' });
    expect(dec('RUN true')).not.toHaveProperty('network');
    expect(parseError('FROM x\nRUN --network=bridge true\n').message).toMatch(/line 2: unsupported network mode "bridge"/);
  });

  it('accepts --security=sandbox and refuses insecure clearly', () => {
    expect(dec('RUN --security=sandbox true')).toMatchObject({ kind: 'RUN' });
    expect(parseError('FROM x\nRUN --security=insecure true\n').message).toMatch(/line 2: RUN --security=insecure is not supported/);
  });

  it('rejects unknown RUN flags naming flag and line', () => {
    expect(parseError('FROM x\nRUN --device=/dev/kvm true\n').message).toBe('dockerfile parse error on line 2: Unknown flag: device');
  });
});

describe('decode: COPY and ADD', () => {
  it('splits sources and destination and expands them', () => {
    expect(dec('COPY $SRC b /app/$DIR/', env({ SRC: 'a', DIR: 'lib' }))).toEqual({
      kind: 'COPY', sources: ['a', 'b'], dest: '/app/lib/', link: false, parents: false, exclude: [], heredocs: [],
    });
  });

  it('reads the JSON form (paths with spaces)', () => {
    expect(dec('COPY ["my file", "/dst dir/"]')).toMatchObject({ sources: ['my file'], dest: '/dst dir/' });
  });

  it('expands flag values: --from, --chown, --chmod, --exclude', () => {
    const r = dec('COPY --from=$S --chown=$U:$G --chmod=$M --exclude=*.md --exclude=$X --link --parents a /b', env({ S: 'build', U: 'app', G: 'grp', M: '0644', X: 'tmp' }));
    expect(r).toMatchObject({ from: 'build', chown: 'app:grp', chmod: '0644', exclude: ['*.md', 'tmp'], link: true, parents: true });
    expect(dec('COPY --link=false a /b')).toMatchObject({ link: false });
  });

  it('ADD reads --checksum and --keep-git-dir', () => {
    expect(dec('ADD --checksum=sha256:$SUM https://example.com/x.tgz /x', env({ SUM: 'abc' }))).toMatchObject({
      kind: 'ADD', checksum: 'sha256:abc', keepGitDir: false, sources: ['https://example.com/x.tgz'],
    });
    expect(dec('ADD --keep-git-dir=true https://github.com/a/b.git /src')).toMatchObject({ keepGitDir: true });
  });

  it('needs at least a source and a destination', () => {
    expect(parseError('FROM x\nCOPY onlyone\n').message).toBe(
      'dockerfile parse error on line 2: COPY requires at least two arguments, but only one was provided. Destination could not be determined',
    );
    expect(parseError('FROM x\nADD ["one"]\n').message).toMatch(/ADD requires at least two arguments/);
  });

  it('names heredoc sources and expands their bodies unless quoted', () => {
    const d = df('FROM x', 'COPY <<EOF <<"RAW" /dst/', 'v=$V', 'EOF', 'v=$V', 'RAW');
    const r = decodeInstruction(d.stages[0]!.instructions[0]!, env({ V: '1' }), '\\');
    expect(r).toMatchObject({
      kind: 'COPY',
      sources: ['EOF', 'RAW'],
      dest: '/dst/',
      heredocs: [{ name: 'EOF', content: 'v=1\n', expand: true }, { name: 'RAW', content: 'v=$V\n', expand: false }],
    });
  });

  it('rejects a heredoc as destination', () => {
    expect(parseError('FROM x\nCOPY a <<EOF\nx\nEOF\n').message).toMatch(/line 2: COPY cannot accept a heredoc as a destination/);
  });

  it('reports unbalanced quotes in a source', () => {
    expect(parseError('FROM x\nCOPY "a b" /c\n').message).toMatch(/line 2: failed to process "\\"a": unexpected end of statement while looking for matching double-quote/);
  });
});

describe('decode: ENV, LABEL, ARG', () => {
  it('reads key=value pairs with quotes and escapes', () => {
    expect(dec('ENV A=1 B="two words" C=three\\ words D=\'$x\'')).toEqual({
      kind: 'ENV', pairs: [['A', '1'], ['B', 'two words'], ['C', 'three words'], ['D', '$x']],
    });
  });

  it('reads the legacy one-pair form', () => {
    expect(dec('ENV GREETING hello   world')).toEqual({ kind: 'ENV', pairs: [['GREETING', 'hello   world']] });
    expect(dec('LABEL maintainer "me <me@x>"')).toEqual({ kind: 'LABEL', pairs: [['maintainer', 'me <me@x>']] });
  });

  it('uses the values from before the instruction (one value per variable per instruction)', () => {
    expect(dec('ENV a=1 b=$a c=${a}x', env({ a: 'old' }))).toEqual({ kind: 'ENV', pairs: [['a', '1'], ['b', 'old'], ['c', 'oldx']] });
    expect(dec('ENV a=1 b=$a')).toEqual({ kind: 'ENV', pairs: [['a', '1'], ['b', '']] });
  });

  it('supports the modifiers in values', () => {
    expect(dec('ENV P=${PREFIX:-/usr} Q=${PREFIX:+set} R=${EMPTY-unset}', env({ EMPTY: '' }))).toEqual({
      kind: 'ENV', pairs: [['P', '/usr'], ['Q', ''], ['R', '']],
    });
  });

  it('LABEL expands keys and values', () => {
    expect(dec('LABEL "com.example.$K"="$V" other=x', env({ K: 'ver', V: '1.0' }))).toEqual({
      kind: 'LABEL', pairs: [['com.example.ver', '1.0'], ['other', 'x']],
    });
  });

  it('rejects malformed pairs with Docker\'s messages', () => {
    expect(parseError('FROM x\nENV A=1 B\n').message).toBe(
      'dockerfile parse error on line 2: Syntax error - can\'t find = in "B". Must be of the form: name=value',
    );
    expect(parseError('FROM x\nENV ONLYKEY\n').message).toBe('dockerfile parse error on line 2: ENV must have two arguments');
    expect(parseError('FROM x\nENV\n').message).toMatch(/ENV requires at least one argument/);
    expect(parseError('FROM x\nLABEL =x\n').message).toMatch(/LABEL names can not be blank/);
  });

  it('reads ARG names with and without defaults, expanding defaults', () => {
    expect(dec('ARG a')).toEqual({ kind: 'ARG', args: [{ name: 'a' }] });
    expect(dec('ARG a=b c="d e" f= g=${H:-h}', env({}))).toEqual({
      kind: 'ARG', args: [{ name: 'a', default: 'b' }, { name: 'c', default: 'd e' }, { name: 'f', default: '' }, { name: 'g', default: 'h' }],
    });
    expect(dec('ARG v=$base-1', env({ base: '2' }))).toEqual({ kind: 'ARG', args: [{ name: 'v', default: '2-1' }] });
  });

  it('rejects an empty ARG and a blank name', () => {
    expect(parseError('FROM x\nARG\n').message).toMatch(/line 2: ARG requires at least one argument/);
    expect(parseError('FROM x\nARG =v\n').message).toMatch(/ARG names can not be blank/);
  });
});

describe('decode: CMD, ENTRYPOINT, SHELL', () => {
  it('gives exec or shell form, unexpanded', () => {
    expect(dec('CMD ["nginx", "-g", "daemon off;"]')).toEqual({ kind: 'CMD', command: { exec: ['nginx', '-g', 'daemon off;'] } });
    expect(dec('CMD echo $HOME', env({ HOME: 'x' }))).toEqual({ kind: 'CMD', command: { shell: 'echo $HOME' } });
    expect(dec('ENTRYPOINT ["/entry.sh"]')).toEqual({ kind: 'ENTRYPOINT', command: { exec: ['/entry.sh'] } });
    expect(dec('ENTRYPOINT exec top -b')).toEqual({ kind: 'ENTRYPOINT', command: { shell: 'exec top -b' } });
    expect(dec('ENTRYPOINT []')).toEqual({ kind: 'ENTRYPOINT', command: { exec: [] } });
  });

  it('SHELL must be a non-empty JSON array', () => {
    expect(dec('SHELL ["powershell", "-command"]')).toEqual({ kind: 'SHELL', shell: ['powershell', '-command'] });
    expect(parseError('FROM x\nSHELL /bin/bash -c\n').message).toBe('dockerfile parse error on line 2: SHELL requires the arguments to be in JSON form');
    expect(parseError('FROM x\nSHELL []\n').message).toMatch(/SHELL requires at least one argument/);
  });
});

describe('decode: HEALTHCHECK', () => {
  it('reads NONE', () => {
    expect(dec('HEALTHCHECK NONE')).toEqual({ kind: 'HEALTHCHECK', check: { test: ['NONE'] } });
    expect(parseError('FROM x\nHEALTHCHECK NONE extra\n').message).toMatch(/HEALTHCHECK NONE takes no arguments/);
  });

  it('reads CMD in shell and exec form with every flag in nanoseconds', () => {
    expect(dec('HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=500ms --retries=3 CMD curl -f http://localhost/ || exit 1')).toEqual({
      kind: 'HEALTHCHECK',
      check: {
        test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'],
        interval: 30e9, timeout: 90e9, startPeriod: 1.5e9, startInterval: 500e6, retries: 3,
      },
    });
    expect(dec('HEALTHCHECK cmd ["/bin/check", "--fast"]')).toEqual({ kind: 'HEALTHCHECK', check: { test: ['CMD', '/bin/check', '--fast'] } });
  });

  it('rejects bad types, missing commands and bad durations', () => {
    expect(parseError('FROM x\nHEALTHCHECK RUN x\n').message).toBe('dockerfile parse error on line 2: Unknown type "RUN" in HEALTHCHECK (try CMD)');
    expect(parseError('FROM x\nHEALTHCHECK CMD\n').message).toMatch(/Missing command after HEALTHCHECK CMD/);
    expect(parseError('FROM x\nHEALTHCHECK --interval=5 CMD x\n').message).toMatch(/time: missing unit in duration "5"/);
    expect(parseError('FROM x\nHEALTHCHECK --interval=5x CMD x\n').message).toMatch(/unknown unit "x"/);
    expect(parseError('FROM x\nHEALTHCHECK --timeout=10us CMD x\n').message).toMatch(/Interval "timeout" cannot be less than 1ms/);
    expect(parseError('FROM x\nHEALTHCHECK --retries=-1 CMD x\n').message).toMatch(/--retries cannot be negative/);
    expect(parseError('FROM x\nHEALTHCHECK --bogus=1 CMD x\n').message).toMatch(/Unknown flag: bogus/);
  });

  it('parses Go durations', () => {
    expect(parseGoDuration('1h2m3.5s')).toBe(3723.5e9);
    expect(parseGoDuration('10us')).toBe(10_000);
    expect(parseGoDuration('250ns')).toBe(250);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('.5s')).toBe(0.5e9);
    expect(() => parseGoDuration('')).toThrow(/invalid duration/);
    expect(() => parseGoDuration('s')).toThrow(/invalid duration/);
  });
});

describe('decode: the small instructions', () => {
  it('EXPOSE expands and validates ports', () => {
    expect(dec('EXPOSE 80 443/tcp 8000-8010/UDP $P', env({ P: '9000 9001/sctp' }))).toEqual({
      kind: 'EXPOSE', ports: ['80', '443/tcp', '8000-8010/udp', '9000', '9001/sctp'],
    });
    expect(parseError('FROM x\nEXPOSE http\n').message).toBe('dockerfile parse error on line 2: invalid containerPort: http');
    expect(parseError('FROM x\nEXPOSE 80/icmp\n').message).toMatch(/invalid proto: icmp/);
    expect(parseError('FROM x\nEXPOSE 70000\n').message).toMatch(/invalid containerPort: 70000/);
    expect(parseError('FROM x\nEXPOSE 90-80\n').message).toMatch(/invalid range/);
    expect(parseError('FROM x\nEXPOSE\n').message).toMatch(/EXPOSE requires at least one argument/);
    expect(decodeError('EXPOSE $P', env({ P: 'abc' }))).toMatch(/invalid containerPort: abc/);
  });

  it('VOLUME takes JSON or words, expanded', () => {
    expect(dec('VOLUME /data $LOGS', env({ LOGS: '/var/log' }))).toEqual({ kind: 'VOLUME', paths: ['/data', '/var/log'] });
    expect(dec('VOLUME ["/a b"]')).toEqual({ kind: 'VOLUME', paths: ['/a b'] });
    expect(parseError('FROM x\nVOLUME [""]\n').message).toMatch(/VOLUME specified can not be an empty string/);
  });

  it('WORKDIR, USER and STOPSIGNAL are expanded; MAINTAINER is not', () => {
    const lookup = env({ D: '/srv', U: 'app', S: 'SIGQUIT', N: 'x' });
    expect(dec('WORKDIR $D/app', lookup)).toEqual({ kind: 'WORKDIR', path: '/srv/app' });
    expect(dec('USER ${U}:${U}', lookup)).toEqual({ kind: 'USER', user: 'app:app' });
    expect(dec('STOPSIGNAL $S', lookup)).toEqual({ kind: 'STOPSIGNAL', signal: 'SIGQUIT' });
    expect(dec('MAINTAINER Jane $N <jane@x>', lookup)).toEqual({ kind: 'MAINTAINER', name: 'Jane $N <jane@x>' });
    expect(parseError('FROM x\nWORKDIR\n').message).toMatch(/WORKDIR requires exactly one argument/);
    expect(parseError('FROM x\nUSER\n').message).toMatch(/USER requires exactly one argument/);
  });

  it('ONBUILD keeps the trigger text and refuses ONBUILD, FROM, MAINTAINER and unknown triggers', () => {
    expect(dec('ONBUILD RUN echo $x')).toEqual({ kind: 'ONBUILD', trigger: 'RUN echo $x' });
    expect(dec('onbuild COPY --chown=1 . /app')).toEqual({ kind: 'ONBUILD', trigger: 'COPY --chown=1 . /app' });
    expect(parseError('FROM x\nONBUILD ONBUILD RUN x\n').message).toBe('dockerfile parse error on line 2: Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
    expect(parseError('FROM x\nONBUILD FROM y\n').message).toMatch(/FROM isn't allowed as an ONBUILD trigger/);
    expect(parseError('FROM x\nONBUILD MAINTAINER y\n').message).toMatch(/MAINTAINER isn't allowed as an ONBUILD trigger/);
    expect(parseError('FROM x\nONBUILD FOO y\n').message).toMatch(/line 2: unknown instruction: FOO/);
    expect(parseError('FROM x\nONBUILD\n').message).toMatch(/ONBUILD requires at least one argument/);
  });

  it('ONBUILD with a heredoc keeps the body in the trigger so it parses again', () => {
    const d = df('FROM x', 'ONBUILD RUN <<EOF', 'echo hi', 'EOF');
    const trig = decodeInstruction(d.stages[0]!.instructions[0]!, none, '\\');
    expect(trig).toEqual({ kind: 'ONBUILD', trigger: 'RUN <<EOF\necho hi\nEOF' });
    const again = parseDockerfile(`FROM y\n${(trig as { trigger: string }).trigger}\n`);
    expect(again.stages[0]!.instructions[0]!.heredocs[0]!.content).toBe('echo hi\n');
  });
});

describe('decode: errors carry the line', () => {
  it('prefixes expansion errors with the instruction\'s line', () => {
    expect(decodeError('WORKDIR ${DIR:?set DIR}')).toBe('dockerfile parse error on line 2: failed to process "${DIR:?set DIR}": DIR: set DIR');
  });

  it('checks syntax at parse time but variables only when decoding', () => {
    expect(() => df('FROM x', 'WORKDIR ${DIR:?set DIR}')).not.toThrow();
    expect(parseError('FROM x\nWORKDIR ${DIR\n').message).toMatch(/line 2: .*missing '}'/);
  });
});
