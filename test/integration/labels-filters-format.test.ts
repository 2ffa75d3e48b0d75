// Labels, filters and formats through the CLI, as Docker users type them:
// run/create --label/--label-file/--annotation, ps/images --filter, and
// --format templates on ps, images, inspect and the volume verbs.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busybox, integrationSkipReason, sandbox, fixtureTar } from '../helpers/tsrun.js';

const skip = integrationSkipReason('labels-filters-format');

describe.skipIf(skip)('labels, filters and formats', () => {
  const sb = sandbox();
  const scratch = mkdtempSync(join(tmpdir(), 'tsrun-lff-'));
  const t = async (args: string[]) => {
    // Exact output: execa would strip the final newline.
    const r = await sb.tsrun(args, { stripFinalNewline: false });
    return { code: r.exitCode, out: String(r.stdout), err: String(r.stderr) };
  };
  const ok = async (args: string[]) => {
    const r = await t(args);
    expect(r.err, args.join(' ')).toBe('');
    expect(r.code, args.join(' ')).toBe(0);
    return r.out;
  };
  const names = async (args: string[]) => (await ok(['ps', ...args, '--format', '{{.Names}}'])).split('\n').filter(Boolean).sort();

  beforeAll(async () => {
    writeFileSync(join(scratch, 'labels'), '# team labels\n\nteam=core\napp=from-file\nignored-without-value\n');
    await ok(['create', '--name', 'web', '--network', 'none', '-l', 'app=shop', '-l', 'flag', '--label-file', join(scratch, 'labels'), '--rootfs', busybox(), 'true']);
    await ok(['create', '--name', 'db', '--network', 'none', '--label', 'app=db', '--annotation', 'org.example.owner=ops', '--rootfs', busybox(), 'true']);
    // An exited container (exit code 3), no labels.
    expect((await t(['run', '--name', 'job', '--network', 'none', '--rootfs', busybox(), 'sh', '-c', 'exit 3'])).code).toBe(3);
  }, 60_000);
  afterAll(() => {
    sb.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('--label, -l and --label-file are the container\'s labels (flags over the file), in inspect and ps', async () => {
    expect(JSON.parse(await ok(['inspect', '-f', '{{json .Config.Labels}}', 'web']))).toEqual({ app: 'shop', flag: '', team: 'core' });
    expect(await ok(['inspect', '-f', '{{.State.Status}} {{index .Config.Labels "app"}}', 'web', 'db'])).toBe('created shop\ncreated db\n');
    expect(await ok(['inspect', '--format', '{{.HostConfig.Annotations}}', 'db'])).toBe('map[org.example.owner:ops]\n');
    expect(await ok(['ps', '-a', '--filter', 'name=^web$', '--format', '{{.Labels}}|{{.Label "team"}}'])).toBe('app=shop,flag=,team=core|core\n');
    const json = JSON.parse((await ok(['ps', '-a', '--filter', 'name=db', '--format', 'json'])).trim());
    expect(json).toMatchObject({ Names: 'db', Labels: 'app=db', State: 'created' });
  });

  it('ps --filter: label, status, exited, name, id; same key ORed, different keys ANDed; stopped ones shown as Docker does', async () => {
    const cases: Array<[string[], string[]]> = [
      [['-a', '--filter', 'label=app'], ['db', 'web']],
      [['-a', '--filter', 'label=app', '--filter', 'label=team'], ['web']],
      // Without -a only running containers, unless a status filter asks for others.
      [['--filter', 'label=app'], []],
      [['--filter', 'status=created', '--filter', 'status=exited'], ['db', 'job', 'web']],
      [['-a', '--filter', 'status=created', '--filter', 'label=app=db'], ['db']],
      [['-a', '--filter', 'exited=3'], ['job']],
      [['-a', '--filter', 'exited=0'], []],
      [['-a', '--filter', 'before=job'], ['db', 'web']],
      [['-a', '--filter', 'since=web'], ['db', 'job']],
      [['-a', '--filter', `ancestor=${busybox()}`, '--filter', 'name=^(web|job)$'], ['job', 'web']],
      [['-a', '--filter', 'network=none', '--filter', 'health=none', '--filter', 'name=o'], ['job']],
    ];
    // Read-only: side by side.
    const got = await Promise.all(cases.map(([args]) => names(args)));
    got.forEach((g, i) => expect(g, cases[i][0].join(' ')).toEqual(cases[i][1]));
    expect(await ok(['ps', '-a', '--filter', 'label=app=shop', '--format', '{{.Names}}'])).toBe('web\n');
  });

  it('ps --format table prints Docker\'s header names and aligned columns', async () => {
    const lines = (await ok(['ps', '-a', '--filter', 'label=app', '--format', 'table {{.Names}}\\t{{.Label "app"}}\\t{{.State}}'])).split('\n');
    expect(lines[0]).toMatch(/^NAMES\s+LABEL\s+STATE$/);
    expect(lines.slice(1, 3).sort()).toEqual(['db        db        created', 'web       shop      created']);
    expect((await ok(['ps', '-a', '--format', 'table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}'])).split('\n')[0])
      .toMatch(/^CONTAINER ID\s+IMAGE\s+COMMAND\s+CREATED\s+STATUS\s+PORTS\s+NAMES$/);
  });

  it('labels survive a restart', async () => {
    await ok(['start', '-a', 'web']);
    expect(await ok(['inspect', '-f', '{{.State.Status}} {{.Config.Labels.app}} {{.Config.Labels.nope}}', 'web'])).toBe('exited shop <no value>\n');
    expect(await names(['-a', '--filter', 'label=team=core', '--filter', 'status=exited'])).toEqual(['web']);
  });

  it('bad input: one line, Docker\'s exit code, nothing printed or created', async () => {
    const before = await ok(['ps', '-aq']);
    const bad = [['--label', '=x'], ['-l', 'a=1', '--label-file', join(scratch, 'missing')], ['--annotation', '=v']];
    const runs = await Promise.all(bad.map((args) => t(['run', '--network', 'none', ...args, '--rootfs', busybox(), 'true'])));
    runs.forEach((r, i) => {
      expect(r.code, bad[i].join(' ')).toBe(125);
      expect(r.out).toBe('');
      expect(r.err.trim().split('\n')).toHaveLength(1);
    });
    expect(runs[0].err).toBe("tsrun: invalid label '=x': empty name\n");
    expect(runs[1].err).toMatch(/^tsrun: cannot read label file .*missing: ENOENT\n$/);
    expect(await ok(['ps', '-aq'])).toBe(before);
    const refused = [
      [['ps', '--filter', 'foo=bar'], "tsrun: invalid filter 'foo'\n"],
      [['ps', '--filter', 'status=up'], "tsrun: invalid filter 'status=up'\n"],
      [['ps', '-a', '--filter', 'health=sick'], "tsrun: invalid filter 'health=sick'\n"],
      [['ps', '-a', '--format', '{{.Nope}}'], 'tsrun: template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type struct\n'],
      [['ps', '--format', '{{.Names'], 'tsrun: template parsing error: template: :1: unclosed action\n'],
      [['inspect', '-f', '{{.Nope}}', 'web'], 'tsrun: template parsing error: template: :1:2: executing "" at <.Nope>: can\'t evaluate field Nope in type struct\n'],
      [['images', '--filter', 'dangling=maybe'], "tsrun: invalid filter 'dangling=maybe'\n"],
      [['images', '--filter', 'status=x'], "tsrun: invalid filter 'status'\n"],
    ] as const;
    const results = await Promise.all(refused.map(([args]) => t([...args])));
    results.forEach((r, i) => {
      const what = refused[i][0].join(' ');
      expect(r.err, what).toBe(refused[i][1]);
      expect(r.code, what).toBe(1);
      expect(r.out, what).toBe('');
    });
  });

  it('images: dangling, label and reference filters, templates; image labels under the user\'s', async () => {
    const tar = fixtureTar(busybox(), ['--exclude=./.tsrun-fixture']);
    const imp = async (changes: string[], name: string) => {
      const r = await sb.tsrun(['import', ...changes.flatMap((c) => ['-c', c]), '-', name], { input: tar });
      expect(r.exitCode, String(r.stderr)).toBe(0);
      return String(r.stdout).trim();
    };
    const old = await imp(['LABEL v=1'], 'lff/box:1');
    await imp(['LABEL v=2 kind=box'], 'lff/box:1'); // the name moves: the first image is dangling
    await imp([], 'lff/other:2');
    expect(await ok(['images', '--filter', 'dangling=true', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}'])).toBe(`${old.replace(/^sha256:/, '').slice(0, 12)} <none>:<none>\n`);
    expect(await ok(['images', '-f', 'label=kind=box', '--format', '{{.Repository}}:{{.Tag}}'])).toBe('lff/box:1\n');
    expect((await ok(['images', '--filter', 'reference=lff/*:*', '--filter', 'dangling=false', '--format', '{{.Repository}}:{{.Tag}}'])).split('\n').sort()).toEqual(['', 'lff/box:1', 'lff/other:2']);
    expect(await ok(['images', '--format', 'table {{.Repository}}\\t{{.Tag}}', 'lff/oth*'])).toBe('REPOSITORY   TAG\nlff/other    2\n');
    expect(await ok(['inspect', '-f', '{{.Config.Labels.kind}} {{len .RepoTags}}', 'lff/box:1'])).toBe('box 1\n');
    expect(await ok(['image', 'inspect', '-f', '{{.Config.Labels.kind}} {{index .RepoTags 0}}', 'lff/box:1'])).toBe('box lff/box:1\n');

    await ok(['create', '--name', 'boxed', '--network', 'none', '-l', 'v=mine', 'lff/box:1', 'true']);
    expect(JSON.parse(await ok(['inspect', '-f', '{{json .Config.Labels}}', 'boxed']))).toEqual({ v: 'mine', kind: 'box' });
    expect(await ok(['ps', '-a', '--filter', 'ancestor=lff/box:1', '--format', '{{.Names}} {{.Label "kind"}}'])).toBe('boxed box\n');
  });

  it('volume verbs take --format templates too', async () => {
    await ok(['volume', 'create', '--label', 'tier=cold', 'lffvol']);
    expect(await ok(['volume', 'ls', '--format', '{{.Name}}:{{.Label "tier"}}'])).toBe('lffvol:cold\n');
    expect(await ok(['volume', 'inspect', '-f', '{{.Name}} {{.Labels.tier}} {{.Driver}}', 'lffvol'])).toBe('lffvol cold local\n');
  });
});
