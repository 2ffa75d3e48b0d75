// proc(5)'s mountinfo, parsed: the cgroup detection every container verb
// runs needs it, so it lives apart from `check`'s probe.

export interface MountInfoEntry {
  /** Path within the mounted filesystem that is the mount's root. */
  root: string;
  mountPoint: string;
  fstype: string;
  superOptions: string[];
}

/**
 * proc(5) mountinfo; fields before " - " vary in number (optional tags), so
 * split on the separator. `mentioning`: only the lines holding one of these
 * strings are parsed (a host running many containers has hundreds of mounts).
 */
export function parseMountInfo(text: string, mentioning?: string[]): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (mentioning && !mentioning.some((s) => line.includes(s))) continue;
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const head = line.slice(0, sep).split(' ');
    const tail = line.slice(sep + 3).split(' ');
    if (head.length < 6 || tail.length < 3) continue;
    entries.push({
      root: unescapeMountField(head[3]!),
      mountPoint: unescapeMountField(head[4]!),
      fstype: tail[0]!,
      superOptions: tail[2]!.split(','),
    });
  }
  return entries;
}

/** The kernel writes space, tab, newline and backslash in paths as \ooo octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}
