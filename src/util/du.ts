// The apparent size of a tree, as Docker counts a container's SizeRw or a
// volume's size: regular files and symlinks by their length, each hard-linked
// inode once, never following a symlink nor crossing into another mount.
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export async function diskUsage(path: string): Promise<number> {
  const top = await lstat(path).catch(() => null);
  if (!top) return 0;
  if (!top.isDirectory()) return top.isFile() || top.isSymbolicLink() ? top.size : 0;
  const seen = new Set<string>();
  let total = 0;
  const stack = [path];
  while (stack.length) {
    const dir = stack.pop()!;
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const p = join(dir, name);
      const st = await lstat(p).catch(() => null); // removed meanwhile
      if (!st || st.dev !== top.dev) continue;
      if (st.isDirectory()) stack.push(p);
      else if (st.isFile() || st.isSymbolicLink()) {
        if (st.nlink > 1) {
          const key = `${st.ino}`;
          if (seen.has(key)) continue;
          seen.add(key);
        }
        total += st.size;
      }
    }
  }
  return total;
}
