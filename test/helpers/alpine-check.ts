// One shell script and its expected output that prove a container sees the
// fixture alpine image (test/helpers/image-fixtures.ts) with every layer
// merged as OverlayFS should: the image config, a whiteout, an opaque dir,
// a hardlink pair, a symlink, setuid and owners.
import { expect } from 'vitest';
import { ALPINE } from './image-fixtures.js';

export const ALPINE_CHECK_SCRIPT = [
  'cat /etc/os-release', 'pwd', 'echo "env=$TSRUN_FIXTURE"',
  'test -e /etc/motd && echo motd-present || echo motd-gone',
  'ls /opt/data | tr "\\n" " "; echo',
  'stat -c "%i" hard-a hard-b | uniq | wc -l',
  'readlink link-to-hello', 'cat link-to-hello',
  'stat -c "%a %u:%g" /usr/bin/tsrun-suid /home/tsuser/owned.txt private',
].join('; ');

/** Checks a `run IMAGE sh -c ALPINE_CHECK_SCRIPT` result (execa's, final newline stripped). */
export function expectAlpineRun(r: { stdout: string; stderr: string; exitCode?: number }): void {
  expect(r.stderr).toBe('');
  expect(r.exitCode).toBe(0);
  const out = `${r.stdout}\n`;
  expect(out).toContain(ALPINE.osRelease);
  expect(out).toContain('/usr/share/tsrun\n');
  expect(out).toContain('env=alpine\n');
  expect(out).toContain('motd-gone\n');
  expect(out).toContain('new.txt \n');
  expect(out).toContain('\n1\n'); // both names, one inode
  expect(out).toContain(`hello.txt\n${ALPINE.hello}`);
  expect(out).toContain('4755 0:0\n600 1000:1000\n700 0:0\n');
}
