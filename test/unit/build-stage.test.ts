// The config-only instructions' rules (stage.ts), decoded from real
// Dockerfile text so the parser and the rules are checked together.
import { describe, expect, it } from 'vitest';
import { decodeInstruction } from '../../src/build/dockerfile/decode.js';
import { parseDockerfile } from '../../src/build/dockerfile/parser.js';
import { addHistory, applyMetadata, commandArgs, resolveWorkdir, scratchConfig, stageLookup, type StageState } from '../../src/build/stage.js';

function stage(env: string[] = ['PATH=/bin'], cmd?: string[]): StageState {
  const config = scratchConfig({ os: 'linux', architecture: 'amd64' });
  config.config = { Env: env, ...(cmd ? { Cmd: cmd } : {}) };
  return { index: 0, config, layers: [], args: new Map(), key: 'k', cmdSet: false, time: '2026-01-01T00:00:00.000Z' };
}

function apply(st: StageState, lines: string): void {
  const df = parseDockerfile(`FROM scratch\n${lines}\n`);
  for (const raw of df.stages[0].instructions) {
    const ins = decodeInstruction(raw, stageLookup(st), df.escape);
    if (ins.kind === 'ARG') for (const a of ins.args) st.args.set(a.name, a.default);
    else expect(applyMetadata(st, ins)).toBe(true);
  }
}

describe('config instructions', () => {
  it('ENV sees the values from before the instruction, replaces in place, and wins over ARG', () => {
    const st = stage(['PATH=/bin', 'A=old']);
    apply(st, 'ARG B=from-arg\nENV A=new C=$A D=$B\nENV B=from-env E=$B');
    expect(st.config.config!.Env).toEqual(['PATH=/bin', 'A=new', 'C=old', 'D=from-arg', 'B=from-env', 'E=from-arg']);
    expect(stageLookup(st)('B')).toBe('from-env');
  });

  it('ENTRYPOINT resets an inherited CMD, but not one set in this stage', () => {
    const inherited = stage(['PATH=/bin'], ['sh']);
    apply(inherited, 'ENTRYPOINT ["/run.sh"]');
    expect(inherited.config.config!.Cmd).toBeNull();
    const own = stage(['PATH=/bin'], ['sh']);
    apply(own, 'CMD ["--flag"]\nENTRYPOINT ["/run.sh"]');
    expect(own.config.config!.Cmd).toEqual(['--flag']);
    expect(own.config.config!.Entrypoint).toEqual(['/run.sh']);
  });

  it('shell forms use the stage SHELL', () => {
    const st = stage();
    apply(st, 'SHELL ["/bin/bash", "-eo", "pipefail", "-c"]\nCMD echo hi\nENTRYPOINT exec app');
    expect(st.config.config!.Cmd).toEqual(['/bin/bash', '-eo', 'pipefail', '-c', 'echo hi']);
    expect(st.config.config!.Entrypoint).toEqual(['/bin/bash', '-eo', 'pipefail', '-c', 'exec app']);
    expect(commandArgs({ shell: 'x' }, undefined)).toEqual(['/bin/sh', '-c', 'x']);
  });

  it('EXPOSE ranges and protocols, LABEL, VOLUME, STOPSIGNAL, USER, MAINTAINER, ONBUILD, HEALTHCHECK', () => {
    const st = stage();
    apply(st, [
      'EXPOSE 80 8000-8002/udp',
      'LABEL a=1 "b c"="d e"',
      'VOLUME ["/data", "/logs"]',
      'STOPSIGNAL SIGQUIT',
      'USER app:staff',
      'MAINTAINER someone <a@b.c>',
      'ONBUILD RUN echo hi',
      'HEALTHCHECK --interval=5s --timeout=2s --start-period=1m --start-interval=500ms --retries=4 CMD curl -f http://localhost/',
    ].join('\n'));
    const c = st.config.config!;
    expect(Object.keys(c.ExposedPorts!).sort()).toEqual(['80/tcp', '8000/udp', '8001/udp', '8002/udp']);
    expect(c.Labels).toEqual({ a: '1', 'b c': 'd e' });
    expect(Object.keys(c.Volumes!)).toEqual(['/data', '/logs']);
    expect(c.StopSignal).toBe('SIGQUIT');
    expect(c.User).toBe('app:staff');
    expect(st.config.author).toBe('someone <a@b.c>');
    expect(c.OnBuild).toEqual(['RUN echo hi']);
    expect(c.Healthcheck).toEqual({ Test: ['CMD-SHELL', 'curl -f http://localhost/'], Interval: 5e9, Timeout: 2e9, StartPeriod: 60e9, StartInterval: 5e8, Retries: 4 });
    apply(st, 'HEALTHCHECK NONE');
    expect(st.config.config!.Healthcheck).toEqual({ Test: ['NONE'] });
  });

  it('WORKDIR resolves against the previous one; history marks empty layers', () => {
    expect(resolveWorkdir('/a', 'b/../c')).toBe('/a/c');
    expect(resolveWorkdir(undefined, 'x')).toBe('/x');
    expect(resolveWorkdir('/a', '/abs')).toBe('/abs');
    const st = stage();
    addHistory(st, 'ENV a=b', null);
    addHistory(st, 'RUN x', { diffId: `sha256:${'1'.repeat(64)}`, digest: `sha256:${'2'.repeat(64)}`, mediaType: 'm', size: 1 }, '2026-02-02T00:00:00.000Z');
    expect(st.config.history).toEqual([
      { created: '2026-01-01T00:00:00.000Z', created_by: 'ENV a=b', comment: 'tsrun build', empty_layer: true },
      { created: '2026-02-02T00:00:00.000Z', created_by: 'RUN x', comment: 'tsrun build' },
    ]);
    expect(st.config.rootfs.diff_ids).toEqual([`sha256:${'1'.repeat(64)}`]);
    expect(st.time).toBe('2026-02-02T00:00:00.000Z');
  });
});
