// -t gives the container a real terminal from its own devpts: under
// `script` (a pty, no human) and under tmux (typing, resizing).
import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { busybox, cli, hasTool, containerPid, integrationSkipReason, sandbox } from '../helpers/tsrun.js';

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
    const session = `tsrun-test-${process.pid}`;
    const tmux = (...a: string[]) => execa('tmux', a, { reject: false });
    const screen = async () => (await tmux('capture-pane', '-pt', session)).stdout;
    const waitFor = async (re: RegExp) => {
      for (let i = 0; i < 100; i++) {
        if (re.test(await screen())) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`screen never matched ${re}:\n${await screen()}`);
    };
    await tmux('new-session', '-d', '-s', session, '-x', '90', '-y', '25', `${tsrunCmd('-it sh')}; echo EXITED=$?; sleep 30`);
    try {
      await waitFor(/^\/ #/m);
      await tmux('send-keys', '-t', session, 'echo typed-$((6*7)); stty size', 'Enter');
      await waitFor(/typed-42\n25 90/);
      await tmux('resize-window', '-t', session, '-x', '70', '-y', '20');
      await tmux('send-keys', '-t', session, 'stty size; exit 3', 'Enter');
      await waitFor(/^20 70$/m);
      await waitFor(/EXITED=3/);
    } finally {
      await tmux('kill-session', '-t', session);
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
