// A real terminal for -it tests: a detached tmux session 90x25 running a
// shell command, read back from its screen.
import { execa } from 'execa';

export interface TmuxSession {
  /** Types `keys` and Enter. */
  type(keys: string): Promise<void>;
  resize(cols: number, rows: number): Promise<void>;
  /** Waits (10 s at most) until the screen matches. */
  waitFor(re: RegExp): Promise<void>;
  kill(): Promise<void>;
}

export async function tmuxSession(name: string, command: string): Promise<TmuxSession> {
  const tmux = (...a: string[]) => execa('tmux', a, { reject: false });
  const screen = async () => (await tmux('capture-pane', '-pt', name)).stdout;
  await tmux('new-session', '-d', '-s', name, '-x', '90', '-y', '25', command);
  return {
    type: async (keys) => void (await tmux('send-keys', '-t', name, keys, 'Enter')),
    resize: async (cols, rows) => void (await tmux('resize-window', '-t', name, '-x', String(cols), '-y', String(rows))),
    waitFor: async (re) => {
      for (let i = 0; i < 100; i++) {
        if (re.test(await screen())) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`screen never matched ${re}:\n${await screen()}`);
    },
    kill: async () => void (await tmux('kill-session', '-t', name)),
  };
}
