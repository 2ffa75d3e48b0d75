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
  for (const line of mentioning ? linesMentioning(text, mentioning) : text.split('\n')) {
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

// The lines holding any of `needles`, in order: found by searching for the
// needles, not by splitting every line (`ps` reads the layout once, and a
// split of a hundred mounts was most of what that cost).
function linesMentioning(text: string, needles: string[]): string[] {
  const starts = new Set<number>();
  for (const needle of needles) {
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) starts.add(text.lastIndexOf('\n', at) + 1);
  }
  return [...starts].sort((a, b) => a - b).map((start) => {
    const end = text.indexOf('\n', start);
    return text.slice(start, end < 0 ? undefined : end);
  });
}

/** The kernel writes space, tab, newline and backslash in paths as \ooo octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(Number.parseInt(oct, 8)));
}
