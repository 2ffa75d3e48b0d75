// `tsrun events` over real containers: the events a container's life
// journals (in Docker's order, with Docker's attributes), the die of a
// detached container that no CLI waits for, --filter/--format, --since and
// --until, following live, image events, and bad input.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Sandboxes, sleep, slow, timeout, waitFor } from '../helpers/lifecycle.js';
import { busybox, integrationSkipReason, type Sandbox, fixtureTar } from '../helpers/tsrun.js';

const skip = integrationSkipReason('events');

interface Ev {
  status?: string;
  id?: string;
  from?: string;
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: string;
  time: number;
  timeNano: number;
}

/** The journal as the CLI prints it with --format json (--until 0s: what is there now, then exit). */
async function events(sb: Sandbox, ...args: string[]): Promise<Ev[]> {
  const r = await sb.tsrun(['events', '--until', '0s', '--format', 'json', ...args]);
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  return String(r.stdout).split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);
}

/** The journal file itself, read without any CLI. */
function journal(sb: Sandbox): Ev[] {
  const file = join(sb.root, 'events/events.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev) : [];
}

const net = ['--network', 'none'];

describe.skipIf(skip)('events', () => {
  const sandboxes = new Sandboxes();
  afterEach(() => sandboxes.cleanup(), timeout(60_000));

  it('run -d, stop, rm: create, start, kill, die (exitCode), stop, destroy, with Docker\'s attributes', async () => {
    const sb = sandboxes.make();
    const id = String((await sb.tsrun(['run', '-d', ...net, '--name', 'ev1', '--label', 'tier=front', '--rootfs', busybox(), 'sleep', '100'])).stdout);
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect((await sb.tsrun(['exec', 'ev1', 'sh', '-c', 'exit 4'])).exitCode).toBe(4);
    expect((await sb.tsrun(['stop', '-t', '0', 'ev1'])).exitCode).toBe(0);
    expect((await sb.tsrun(['rm', 'ev1'])).exitCode).toBe(0);
    // The monitor's exit command may still be journaling; it must add nothing.
    await sleep(slow(500));
    const evs = (await events(sb)).filter((e) => e.Actor.ID === id);
    expect(evs.map((e) => e.Action)).toEqual(['create', 'start', 'exec_create: sh -c exit 4', 'exec_start: sh -c exit 4', 'exec_die', 'kill', 'kill', 'die', 'stop', 'destroy']);
    expect(evs.find((e) => e.Action === 'exec_die')!.Actor.Attributes).toMatchObject({ exitCode: '4', execID: expect.stringMatching(/^[0-9a-f]{64}$/) });
    for (const e of evs) {
      expect(e).toMatchObject({ Type: 'container', scope: 'local', status: e.Action, id, from: busybox() });
      expect(e.Actor.Attributes).toMatchObject({ name: 'ev1', image: busybox(), tier: 'front' });
      expect(e.time).toBe(Math.floor(e.timeNano / 1e9));
    }
    expect(evs.filter((e) => e.Action === 'kill').map((e) => e.Actor.Attributes.signal)).toEqual(['15', '9']);
    expect(evs.find((e) => e.Action === 'die')!.Actor.Attributes.exitCode).toBe('137');
    const times = evs.map((e) => e.timeNano);
    expect(times).toEqual(times.slice().sort((a, b) => a - b));

    // Docker's default line.
    const text = String((await sb.tsrun(['events', '--until', '0s', '--filter', 'event=stop'])).stdout);
    expect(text).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{9}Z container stop ${id} \\(image=${busybox()}, name=ev1, tier=front\\)$`));
  }, timeout(30_000));

  it('an attached run without --rm: its monitor journals the die, exit code and all', async () => {
    const sb = sandboxes.make();
    expect((await sb.tsrun(['run', ...net, '--name', 'att6', '--rootfs', busybox(), 'sh', '-c', 'exit 6'])).exitCode).toBe(6);
    const dies = journal(sb).filter((e) => e.Action === 'die');
    expect(dies.map((e) => [e.Actor.Attributes.name, e.Actor.Attributes.exitCode])).toEqual([['att6', '6']]);
  }, timeout(30_000));

  it('tsrun attach journals attach', async () => {
    const sb = sandboxes.make();
    const id = String((await sb.tsrun(['run', '-d', ...net, '--name', 'att', '--rootfs', busybox(), 'sh', '-c', 'sleep 1; echo bye'])).stdout);
    expect(await sb.tsrun(['attach', '--no-stdin', 'att'])).toMatchObject({ exitCode: 0, stdout: 'bye' });
    const actions = (await events(sb)).filter((e) => e.Actor.ID === id).map((e) => e.Action);
    expect(actions.slice(0, 3)).toEqual(['create', 'start', 'attach']);
  }, timeout(30_000));

  it('a detached container that exits on its own has its die journaled by its monitor, once, before rm\'s destroy', async () => {
    const sb = sandboxes.make();
    const id = String((await sb.tsrun(['run', '-d', ...net, '--name', 'ex3', '--rootfs', busybox(), 'sh', '-c', 'exit 3'])).stdout);
    // No CLI waits on it: the journal alone must get the die.
    await waitFor(() => journal(sb).some((e) => e.Action === 'die' && e.Actor.ID === id), 'the die event');
    const codes = await sb.tsrun(['events', '--until', '0s', '--filter', 'event=die', '--format', '{{.Actor.Attributes.exitCode}}']);
    expect(codes).toMatchObject({ exitCode: 0, stdout: '3' });
    expect((await sb.tsrun(['rm', 'ex3'])).exitCode).toBe(0);
    const actions = journal(sb).filter((e) => e.Actor.ID === id).map((e) => e.Action);
    expect(actions).toEqual(['create', 'start', 'die', 'destroy']);
  }, timeout(30_000));

  it('--since and --until bound what is shown; filters of one key are alternatives, of two both hold', async () => {
    const sb = sandboxes.make();
    expect((await sb.tsrun(['create', ...net, '--name', 'first', '--rootfs', busybox(), 'true'])).exitCode).toBe(0);
    await sleep(20);
    const between = (Date.now() / 1000).toFixed(3);
    await sleep(20);
    expect((await sb.tsrun(['create', ...net, '--name', 'second', '--label', 'k=v', '--rootfs', busybox(), 'true'])).exitCode).toBe(0);
    const names = (evs: Ev[]) => evs.map((e) => `${e.Action} ${e.Actor.Attributes.name}`);
    expect(names(await events(sb, '--since', between))).toEqual(['create second']);
    expect(names(await sb.tsrun(['events', '--until', between, '--format', 'json']).then((r) => String(r.stdout).split('\n').map((l) => JSON.parse(l) as Ev))))
      .toEqual(['create first']);
    expect(names(await events(sb, '--since', '1m'))).toEqual(['create first', 'create second']);
    expect(names(await events(sb, '--filter', 'container=first', '--filter', 'container=second'))).toEqual(['create first', 'create second']);
    expect(names(await events(sb, '--filter', 'container=first', '--filter', 'label=k=v'))).toEqual([]);
    expect(names(await events(sb, '--filter', 'label=k'))).toEqual(['create second']);
    expect(names(await events(sb, '--filter', 'type=image'))).toEqual([]);
    // `system events` is the same verb.
    expect(String((await sb.tsrun(['system', 'events', '--until', '0s', '--format', '{{.Actor.Attributes.name}}'])).stdout)).toBe('first\nsecond');
  }, timeout(30_000));

  it('follows live: a `run --rm` seen as create, start, attach, die, destroy while it happens', async () => {
    const sb = sandboxes.make();
    const since = String(Date.now() / 1000);
    const child = sb.tsrun(['events', '--since', since, '--format', 'json']);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    try {
      expect((await sb.run([...net, '--name', 'live', 'sh', '-c', 'exit 5'])).exitCode).toBe(5);
      await waitFor(() => out.includes('"destroy"'), 'the destroy event');
      const evs = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Ev);
      expect(evs.map((e) => e.Action)).toEqual(['create', 'start', 'attach', 'die', 'destroy']);
      expect(evs[3].Actor.Attributes).toMatchObject({ name: 'live', exitCode: '5' });
    } finally {
      child.kill('SIGTERM');
      await child.catch(() => undefined);
    }
  }, timeout(30_000));

  it('image import, tag and rmi journal import, tag, untag and delete', async () => {
    const sb = sandboxes.make();
    const tar = fixtureTar(busybox());
    expect((await sb.tsrun(['import', '-', 'evimg:1'], { input: tar })).exitCode).toBe(0);
    expect((await sb.tsrun(['tag', 'evimg:1', 'evimg:2'])).exitCode).toBe(0);
    expect((await sb.tsrun(['rmi', 'evimg:1', 'evimg:2'])).exitCode).toBe(0);
    const evs = await events(sb, '--filter', 'type=image');
    expect(evs.map((e) => `${e.Action} ${e.Actor.Attributes.name.startsWith('sha256:') ? 'ID' : e.Actor.Attributes.name}`))
      .toEqual(['import ID', 'tag evimg:1', 'tag evimg:2', 'untag evimg:1', 'untag evimg:2', 'delete ID']);
    expect(new Set(evs.map((e) => e.Actor.ID)).size).toBe(1);
    expect(evs[0]).toMatchObject({ status: 'import', id: evs[0].Actor.ID });
    expect((await events(sb, '--filter', 'image=evimg')).map((e) => e.Action)).toEqual(['tag', 'tag', 'untag', 'untag']);
  }, timeout(30_000));

  it('bad filters, times and templates: one line on stderr, exit 1', async () => {
    const sb = sandboxes.make();
    for (const [args, message] of [
      [['--filter', 'colour=red'], "tsrun: invalid filter 'colour'"],
      [['--filter', 'type=car'], "tsrun: invalid filter 'type=car'"],
      [['--filter', 'event'], 'tsrun: bad format of filter (expected name=value): event'],
      [['--since', 'soon'], 'tsrun: invalid value for --since: "soon"'],
      [['--since', '0s', '--until', '10m'], 'tsrun: --until (10m) is before --since (0s)'],
      [['--format', '{{.Action'], 'tsrun: template parsing error'],
    ] as const) {
      const r = await sb.tsrun(['events', '--until', '0s', ...args]);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(String(r.stderr).split('\n')).toHaveLength(1);
      expect(String(r.stderr)).toContain(message);
    }
  }, timeout(30_000));
});
