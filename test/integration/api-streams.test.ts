// The Docker Engine API's streams (issue 15) through the real docker CLI
// 20.10: the foreground run (attach before start, wait next-exit/removed,
// the exit code), piped stdin and its EOF, logs (follow, tail,
// timestamps), attach to a running container, exec (exit codes, stdin,
// -it), -it under tmux with a working terminal and resize, and clients
// that go away mid-stream leaving the container and the service as they
// were. Containers use --network none: no bridge is needed here.
import { readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DOCKER, dockerCliSkipReason, importBusybox, startService, type ApiService } from '../helpers/api-service.js';
import { hasTool, integrationSkipReason, sandbox, type Sandbox } from '../helpers/tsrun.js';
import { tmuxSession } from '../helpers/tmux.js';
import { sleep, waitFor as until } from '../helpers/lifecycle.js';

const skip = integrationSkipReason('api-streams') || dockerCliSkipReason('api-streams');
const IMAGE = 'localhost/busybox';

/** One raw request on the socket; resolves with everything the service sent until it closed. */
function rawRequest(socket: string, text: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    const chunks: Buffer[] = [];
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
    s.write(text);
  });
}

/** Docker's stdcopy frames → [stream, text] pairs. */
function demux(buf: Buffer): Array<[number, string]> {
  const out: Array<[number, string]> = [];
  for (let i = 0; i + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(i + 4);
    out.push([buf[i], buf.subarray(i + 8, i + 8 + len).toString()]);
    i += 8 + len;
  }
  return out;
}

/** The service's pid: the process whose command line names its socket. */
function servicePid(svc: ApiService): number {
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(svc.socket)) return Number(p);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error('no service process');
}

describe.skipIf(skip)('API streams: attach, wait, logs, resize, exec', () => {
  let sb: Sandbox;
  let svc: ApiService;
  const docker = (args: string[], opts = {}) => svc.docker(args, opts);
  const detached = async (...cmd: string[]): Promise<string> => {
    // Flags before the command (-i) go before the image.
    const flags = cmd[0] === '-i' ? cmd.splice(0, 1) : [];
    const r = await docker(['run', '-d', '--network', 'none', ...flags, IMAGE, ...cmd]);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    return r.stdout.trim();
  };
  const status = async (id: string): Promise<string> => (await docker(['inspect', '-f', '{{.State.Status}}', id])).stdout.trim();

  beforeAll(async () => {
    sb = sandbox();
    await importBusybox(sb);
    svc = await startService(sb);
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    sb?.cleanup();
  });

  it('run in the foreground: stdout and stderr kept apart, the exit code, --rm leaves nothing', async () => {
    const r = await docker(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.stdout).toBe('out');
    expect(r.stderr).toBe('err');
    expect(r.exitCode).toBe(3);
    expect((await docker(['ps', '-aq'])).stdout).toBe('');
  });

  it('run -i with piped stdin: the input reaches the container, its end is an EOF', async () => {
    const r = await docker(['run', '-i', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'cat; echo done'], { input: 'hi\n', stdin: 'pipe' });
    expect(r.stdout).toBe('hi\ndone');
    expect(r.exitCode).toBe(0);
  });

  it('run -d, then logs: all, --tail 1, --timestamps; logs -f ends when the container stops', async () => {
    const id = await detached('sh', '-c', 'echo one; echo two; echo three; while [ ! -f /tmp/go ]; do sleep 0.05; done; echo four');
    const follow = docker(['logs', '-f', id]);
    let seen = '';
    follow.stdout!.on('data', (d) => (seen += d));
    for (let i = 0; i < 200 && !seen.includes('three'); i++) await new Promise((r) => setTimeout(r, 25));
    expect((await docker(['logs', id])).stdout).toBe('one\ntwo\nthree');
    expect((await docker(['logs', '--tail', '1', id])).stdout).toBe('three');
    const ts = (await docker(['logs', '--timestamps', '--tail', '2', id])).stdout.split('\n');
    expect(ts).toHaveLength(2);
    expect(ts[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z two$/);
    expect((await docker(['exec', id, 'touch', '/tmp/go'])).exitCode).toBe(0);
    const f = await follow;
    expect(f.exitCode).toBe(0);
    expect(f.stdout).toBe('one\ntwo\nthree\nfour');
  });

  it('attach to a running container: input in, output out, the exit code when it exits', async () => {
    const id = await detached('-i', 'sh', '-c', 'while read l; do [ "$l" = quit ] && exit 5; echo got-$l; done; echo stdin-closed; exit 6');
    const r = await docker(['attach', '--sig-proxy=false', id], { input: 'hello\nquit\n', stdin: 'pipe' });
    expect(r.stdout).toBe('got-hello');
    expect(r.exitCode).toBe(5);
  });

  it("a client's end of input closes the container's stdin only with StdinOnce (an attached run -i), as Docker's", async () => {
    const create = async (stdinOnce: boolean): Promise<string> => {
      const r = await svc.fetch('POST', '/v1.41/containers/create', {
        Image: IMAGE, Cmd: ['sh', '-c', 'while read l; do echo got-$l; done; echo stdin-closed'],
        OpenStdin: true, StdinOnce: stdinOnce, AttachStdin: true, HostConfig: { NetworkMode: 'none' },
      });
      expect(r.status, r.body).toBe(201);
      return r.json().Id;
    };
    // Attached before the start (as `docker run -i` does), one line in, then the client's half-close.
    const attach = (id: string): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        const s = connect(svc.socket);
        const chunks: Buffer[] = [];
        let started = false;
        s.on('data', (d) => {
          chunks.push(d);
          if (started || !Buffer.concat(chunks).includes('\r\n\r\n')) return;
          started = true;
          void svc.fetch('POST', `/v1.41/containers/${id}/start`).then(() => s.end('hello\n'));
        });
        s.on('end', () => resolve(Buffer.concat(chunks)));
        s.on('error', reject);
        s.write(`POST /v1.41/containers/${id}/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: d\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
      });
    const once = await create(true);
    const out = await attach(once);
    // All stdout, however the output was cut into frames.
    const frames = demux(out.subarray(out.indexOf('\r\n\r\n') + 4));
    expect(frames.every(([stream]) => stream === 1)).toBe(true);
    expect(frames.map(([, text]) => text).join('')).toBe('got-hello\nstdin-closed\n');
    expect(await status(once)).toBe('exited');
    expect((await docker(['inspect', '-f', '{{.Config.StdinOnce}}', once])).stdout).toBe('true');

    const kept = await create(false);
    const pending = attach(kept);
    await until(async () => (await docker(['logs', kept])).stdout.includes('got-hello'), 'the line to arrive');
    await sleep(300);
    // Its stdin is still open for the next client: still running, no stdin-closed.
    expect(await status(kept)).toBe('running');
    expect((await docker(['logs', kept])).stdout).toBe('got-hello');
    await docker(['rm', '-f', once, kept]);
    await pending;
  });

  it('wait: blocks until the container exits, prints its code', async () => {
    const id = await detached('sh', '-c', 'while [ ! -f /tmp/go ]; do sleep 0.05; done; exit 4');
    const waiting = docker(['wait', id]);
    await docker(['exec', id, 'touch', '/tmp/go']);
    const w = await waiting;
    expect(w.stdout).toBe('4');
    expect(w.exitCode).toBe(0);
  });

  it('exec: output kept apart and the exit code; -i with piped stdin; a missing command is 127', async () => {
    const id = await detached('sleep', '1000');
    const r = await docker(['exec', '-e', 'V=val', '-w', '/tmp', id, 'sh', '-c', 'echo out-$V; pwd; echo err >&2; exit 7']);
    expect(r.stdout).toBe('out-val\n/tmp');
    expect(r.stderr).toBe('err');
    expect(r.exitCode).toBe(7);
    const i = await docker(['exec', '-i', id, 'sh', '-c', 'wc -l; echo done'], { input: 'a\nb\nc\n', stdin: 'pipe' });
    expect(i.stdout.replace(/ +/g, '')).toBe('3\ndone');
    expect(i.exitCode).toBe(0);
    const missing = await docker(['exec', id, 'no-such-command']);
    expect(missing.exitCode).toBe(127);
    expect(missing.stdout + missing.stderr).toContain('no-such-command');
    await docker(['rm', '-f', id]);
  });

  it('the raw API: attach frames by API version, logs=1 replays the log, exec start without an upgrade, exec inspect', async () => {
    const id = await detached('sh', '-c', 'echo o1; echo e1 >&2');
    expect((await docker(['wait', id])).stdout).toBe('0');
    const head = (v: string) => `POST /${v}/containers/${id}/attach?logs=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`;
    for (const [v, type] of [['v1.41', 'application/vnd.docker.raw-stream'], ['v1.42', 'application/vnd.docker.multiplexed-stream']]) {
      const raw = await rawRequest(svc.socket, head(v));
      const split = raw.indexOf('\r\n\r\n');
      const headers = raw.subarray(0, split).toString();
      expect(headers).toMatch(/^HTTP\/1.1 101/);
      expect(headers).toContain(`Content-Type: ${type}`);
      expect(demux(raw.subarray(split + 4)).sort()).toEqual([[1, 'o1\n'], [2, 'e1\n']]);
    }
    const run = await detached('sleep', '1000');
    const created = await svc.fetch('POST', `/v1.41/containers/${run}/exec`, { Cmd: ['sh', '-c', 'echo x; exit 2'], AttachStdout: true, AttachStderr: true });
    expect(created.status).toBe(201);
    const exec = created.json().Id as string;
    expect((await svc.fetch('GET', `/v1.41/exec/${exec}/json`)).json()).toMatchObject({ ID: exec, Running: false, ExitCode: null, ContainerID: run });
    const started = await svc.fetch('POST', `/v1.41/exec/${exec}/start`, { Detach: false, Tty: false });
    expect(started.status).toBe(200);
    expect(demux(Buffer.from(started.body, 'latin1'))).toEqual([[1, 'x\n']]);
    const info = (await svc.fetch('GET', `/v1.41/exec/${exec}/json`)).json();
    expect(info).toMatchObject({ Running: false, ExitCode: 2, ProcessConfig: { entrypoint: 'sh', arguments: ['-c', 'echo x; exit 2'], tty: false } });
    const again = await svc.fetch('POST', `/v1.41/exec/${exec}/start`, { Detach: false });
    expect(again.status).toBe(409);
    expect(again.json().message).toBe(`Error: Exec command ${exec} has already run`);
    await docker(['rm', '-f', id, run]);
  });

  it('exec start without an upgrade: the input is the rest of a chunked body, the output a plain stream', async () => {
    const id = await detached('sleep', '1000');
    const exec = (await svc.fetch('POST', `/v1.41/containers/${id}/exec`, { Cmd: ['sh', '-c', 'cat; echo end'], AttachStdin: true, AttachStdout: true })).json().Id;
    const chunk = (b: string) => `${Buffer.byteLength(b).toString(16)}\r\n${b}\r\n`;
    const reply = await new Promise<string>((resolve, reject) => {
      const s = connect(svc.socket);
      let out = '';
      s.on('data', (d) => {
        out += d.toString('latin1');
        // The chunked answer's last chunk.
        if (out.endsWith('0\r\n\r\n')) s.end();
      });
      s.on('close', () => resolve(out));
      s.on('error', reject);
      s.write(`POST /v1.41/exec/${exec}/start HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunk('{"Detach":false,"Tty":true}line1\n')}`);
      s.write(`${chunk('line2\n')}0\r\n\r\n`);
    });
    expect(reply).toMatch(/^HTTP\/1.1 200/);
    expect(reply).toContain('Content-Type: application/vnd.docker.raw-stream');
    expect(reply.split('\r\n\r\n').slice(1).join('').replace(/\r\n[0-9a-f]+\r\n/g, '').replace(/^[0-9a-f]+\r\n/, '')).toContain('line1\nline2\nend\n');
    expect((await svc.fetch('GET', `/v1.41/exec/${exec}/json`)).json()).toMatchObject({ Running: false, ExitCode: 0 });
    await docker(['rm', '-f', id]);
  });

  it('bad input: exec in a stopped container, an unknown exec, attach/wait/logs/resize of an unknown container, bad values', async () => {
    const id = await detached('true');
    await docker(['wait', id]);
    const r = await docker(['exec', id, 'true']);
    expect(r.stderr).toBe(`Error response from daemon: Container ${id} is not running`);
    expect(r.exitCode).not.toBe(0);
    const viaApi = await svc.fetch('POST', `/v1.41/containers/${id}/exec`, { Cmd: ['true'] });
    expect(viaApi.status).toBe(409);
    expect((await svc.fetch('POST', `/v1.41/containers/${id}/resize?h=10&w=10`)).status).toBe(409);
    for (const [method, path] of [['GET', '/v1.41/exec/nope/json'], ['POST', '/v1.41/exec/nope/start'], ['POST', '/v1.41/exec/nope/resize?h=1&w=1']]) {
      const x = await svc.fetch(method, path, method === 'POST' ? {} : undefined);
      expect(x.status).toBe(404);
      expect(x.json().message).toBe('No such exec instance: nope');
    }
    const attach = (await rawRequest(svc.socket, 'POST /v1.41/containers/nosuch/attach?stream=1&stdout=1 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n')).toString();
    expect(attach).toMatch(/^HTTP\/1.1 404/);
    expect(attach).toContain('No such container: nosuch');
    for (const [method, path] of [['POST', '/v1.41/containers/nosuch/wait'], ['GET', '/v1.41/containers/nosuch/logs?stdout=1'], ['POST', '/v1.41/containers/nosuch/resize?h=1&w=1'], ['POST', '/v1.41/containers/nosuch/exec']]) {
      const x = await svc.fetch(method, path, method === 'POST' && path.endsWith('exec') ? { Cmd: ['true'] } : undefined);
      expect(x.status).toBe(404);
      expect(x.json().message).toContain('No such container: nosuch');
    }
    expect((await svc.fetch('POST', `/v1.41/containers/${id}/wait?condition=bogus`)).json().message).toBe('invalid condition: "bogus"');
    const noStream = await svc.fetch('GET', `/v1.41/containers/${id}/logs`);
    expect(noStream.status).toBe(400);
    expect(noStream.json().message).toBe('Bad parameters: you must choose at least one stream');
    const noCmd = await svc.fetch('POST', `/v1.41/containers/${id}/exec`, { Cmd: [] });
    expect(noCmd.status).toBe(409); // stopped first, as Docker checks
    await docker(['rm', id]);
  });

  it('clients that go away mid logs -f and mid attach leave the container running, the service serving, no fds behind', async () => {
    const id = await detached('-i', 'sh', '-c', 'echo ready; while true; do sleep 1; done');
    const fds = () => readdirSync(`/proc/${servicePid(svc)}/fd`).length;
    // Settle: a first logs call opens what the service keeps (lazily loaded modules).
    await docker(['logs', id]);
    const before = fds();
    for (const args of [['logs', '-f', id], ['attach', '--sig-proxy=false', id]]) {
      const p = docker(args, { stdin: 'pipe' });
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      if (args[0] === 'logs') for (let i = 0; i < 200 && !out.includes('ready'); i++) await new Promise((r) => setTimeout(r, 25));
      else await new Promise((r) => setTimeout(r, 300));
      p.kill('SIGKILL');
      await p;
    }
    expect(await status(id)).toBe('running');
    expect((await docker(['ps', '-q', '--no-trunc'])).stdout).toContain(id);
    let after = fds();
    for (let i = 0; i < 100 && after > before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      after = fds();
    }
    expect(after).toBeLessThanOrEqual(before);
    await docker(['rm', '-f', id]);
  });

  const tmuxTest = (what: string, command: (id: string) => string) =>
    it.skipIf(!hasTool('tmux'))(`${what} under tmux: typing reaches the shell, a resize reaches its terminal`, async () => {
      const keep = what.includes('exec') ? await detached('sleep', '1000') : '';
      const term = await tmuxSession(`tsrun-api-${what.replace(/\W/g, '')}-${process.pid}`,
        `DOCKER_HOST=${svc.host} DOCKER_CONFIG=${svc.env.DOCKER_CONFIG} ${DOCKER} ${command(keep)}; echo EXITED=$?; sleep 30`);
      try {
        await term.waitFor(/^\/ #/m);
        await term.type('echo typed-$((6*7)); stty size; tty');
        await term.waitFor(/typed-42\n25 90\n\/dev\/pts\/\d+/);
        await term.resizeAndCheck(70, 20);
        await term.type('exit 3');
        await term.waitFor(/EXITED=3/);
      } finally {
        await term.kill();
        if (keep) await docker(['rm', '-f', keep]);
      }
    });
  tmuxTest('run -it', () => `run -it --rm --network none ${IMAGE} sh`);
  tmuxTest('exec -it', (id) => `exec -it ${id} sh`);
});
