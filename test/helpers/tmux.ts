// A real terminal for -it tests: a detached tmux session 90x25 running a
// shell command, read back from its screen.
import { execa } from 'execa';

export interface TmuxSession {
  /** Types `keys` and Enter. */
  type(keys: string): Promise<void>;
  /** Waits (10 s at most) until the screen matches. */
  waitFor(re: RegExp): Promise<void>;
  /**
   * Resizes, then asks the shell `stty size` until it says the new size: the
   * resize travels (SIGWINCH, the relay, the pty's ioctl) while the keys may
   * already be typed, so one ask can see the old size.
   */
  resizeAndCheck(cols: number, rows: number): Promise<void>;
  kill(): Promise<void>;
}

export async function tmuxSession(name: string, command: string): Promise<TmuxSession> {
  const tmux = (...a: string[]) => execa('tmux', a, { reject: false });
  const screen = async () => (await tmux('capture-pane', '-pt', name)).stdout;
  await tmux('new-session', '-d', '-s', name, '-x', '90', '-y', '25', command);
  const waitFor = async (re: RegExp, tries = 100): Promise<boolean> => {
    for (let i = 0; i < tries; i++) {
      if (re.test(await screen())) return true;
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  };
  return {
    type: async (keys) => void (await tmux('send-keys', '-t', name, keys, 'Enter')),
    waitFor: async (re) => {
      if (!(await waitFor(re))) throw new Error(`screen never matched ${re}:\n${await screen()}`);
    },
    resizeAndCheck: async (cols, rows) => {
      await tmux('resize-window', '-t', name, '-x', String(cols), '-y', String(rows));
      const size = new RegExp(`^${rows} ${cols}$`, 'm');
      for (let i = 0; i < 10; i++) {
        await tmux('send-keys', '-t', name, 'stty size', 'Enter');
        if (await waitFor(size, 5)) return;
      }
      throw new Error(`the terminal never reported ${rows} ${cols}:\n${await screen()}`);
    },
    kill: async () => void (await tmux('kill-session', '-t', name)),
  };
}
