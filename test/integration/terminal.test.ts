// -t gives the container a real terminal from its own devpts: under
// `script` (a pty, no human) and under tmux (typing, resizing).
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { busybox, cli, hasTool, containerPid, integrationSkipReason, sandbox } from '../helpers/tsrun.js';
import { tmuxSession } from '../helpers/tmux.js';

const skip = integrationSkipReason('terminal');
if (!skip && !hasTool('tmux')) process.stderr.write('[skip] terminal (tmux): tmux is not installed\n');

describe.skipIf(skip)('terminal', () => {
  const sb = sandbox();
  afterAll(() => sb.cleanup());
  const tsrunCmd = (args: string): string => `node -- ${cli} --root ${sb.root} --runroot ${sb.runroot} run --rm --rootfs ${busybox()} ${args}`;

  it('under script: /dev/pts/0, the caller window size, /dev/console, exit code', async () => {
    const inner = `stty rows 33 cols 111; ${tsrunCmd(`-t sh -c 'tty; stty size; [ -c /dev/console ] && echo console; [ -t 0 ] && echo stdin-tty; exit 4'`)}`;
    const r = await execa('script', ['-qec', inner, '/dev/null'], { reject: false, stdin: 'ignore' });
    expect(r.stdout.replace(/\r/g, '').split('\n')).toEqual(['/dev/pts/0', '33 111', 'console', 'stdin-tty']);
    expect(r.exitCode).toBe(4);
  });

  it('-t without a terminal on our side still gives the container one', async () => {
    const r = await sb.run(['-t', 'sh', '-c', 'tty; echo done']);
    expect(r.stdout.replace(/\r/g, '')).toBe('/dev/pts/0\ndone');
  });

  it.skipIf(!hasTool('tmux'))('under tmux: typing reaches the shell, resizing reaches the pty (SIGWINCH)', async () => {
    const term = await tmuxSession(`tsrun-test-${process.pid}`, `${tsrunCmd('-it sh')}; echo EXITED=$?; sleep 30`);
    try {
      await term.waitFor(/^\/ #/m);
      await term.type('echo typed-$((6*7)); stty size');
      await term.waitFor(/typed-42\n25 90/);
      await term.resizeAndCheck(70, 20);
      await term.type('exit 3');
      await term.waitFor(/EXITED=3/);
    } finally {
      await term.kill();
    }
  });

  it.skipIf(!hasTool('tmux'))('when the terminal goes away, the container hangs up and exits', async () => {
    const session = `tsrun-hup-${process.pid}`;
    await execa('tmux', ['new-session', '-d', '-s', session, tsrunCmd('-it sh')]);
    const pid = await containerPid(sb);
    await execa('tmux', ['kill-session', '-t', session]);
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      await new Promise((r) => setTimeout(r, 50));
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
  });
});
