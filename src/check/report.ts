// Turns a CheckReport into the text `tsrun check` prints: an aligned table,
// then one line per finding saying what it changes for tsrun, then a verdict.
// Returns a string; the CLI decides where it goes.

import { LIMIT_CONTROLLERS, type CheckItem, type CheckReport, type CgroupFacts } from './probe.js';

export interface FormatOptions {
  /** ✓/✗ marks; leave off for plain ASCII (pipes, logs, CI). */
  unicode?: boolean;
}

export function formatCheckReport(report: CheckReport, options: FormatOptions = {}): string {
  const rows = report.items.map((item) => [item.name, status(item, options.unicode ?? false), item.required ? 'required' : 'optional', item.detail]);
  const header = ['CHECK', 'STATUS', 'NEED', 'DETAIL'];
  const widths = header.map((h, col) => Math.max(h.length, ...rows.map((r) => r[col]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, col) => (col === cells.length - 1 ? c : c.padEnd(widths[col]!))).join('  ').trimEnd();

  const out = [line(header), ...rows.map(line)];

  const notes = report.items.flatMap((item) => {
    const note = meaning(item, report.facts.cgroup);
    return note ? [`  - ${note}`] : [];
  });
  if (notes.length) out.push('', 'What this means for tsrun:', ...notes);

  out.push('', verdict(report));
  return `${out.join('\n')}\n`;
}

function status(item: CheckItem, unicode: boolean): string {
  const word = item.ok ? 'ok' : item.required ? 'FAIL' : 'missing';
  return unicode ? `${item.ok ? '✓' : '✗'} ${word}` : word;
}

function verdict(report: CheckReport): string {
  const failed = report.items.filter((i) => !i.ok);
  const blocking = failed.filter((i) => i.required).map((i) => i.name);
  if (!report.canRunContainers) return `Verdict: tsrun cannot run containers here (${blocking.join(', ')}).`;
  if (failed.length === 0) return 'Verdict: tsrun can run containers here, with every feature.';
  return `Verdict: tsrun can run containers here; ${failed.length} optional feature(s) missing (see above).`;
}

const NAMESPACE_EFFECT: Record<string, string> = {
  'ns:pid': 'containers cannot run',
  'ns:mount': 'containers cannot run',
  'ns:uts': 'containers cannot run',
  'ns:ipc': 'containers cannot run',
  'ns:network': 'containers cannot run',
  'ns:cgroup': "containers see the host's cgroup paths",
  'ns:user': 'user-namespace uid/gid mapping cannot be used',
  'ns:time': 'specs that ask for a time namespace will fail',
};

/** A one-line consequence for tsrun, or null when the item changes nothing. */
export function meaning(item: CheckItem, cgroup: CgroupFacts): string | null {
  if (item.name === 'cgroup') return cgroupMeaning(cgroup);
  if (item.ok) return null;
  if (item.name.startsWith('ns:')) return `no ${item.name.slice(3)} namespace: ${NAMESPACE_EFFECT[item.name]}`;
  switch (item.name) {
    case 'root': return 'not root: tsrun needs root to create namespaces and mounts';
    case 'procfs': return 'no /proc: tsrun cannot see or track processes; containers cannot run';
    case 'kernel': return 'kernel version unknown: the syscall rows below are guesses';
    case 'userns': return 'user namespaces disabled by sysctl: uid/gid mapping cannot be used';
    case 'overlay': return 'no overlay: images cannot be run (--rootfs still works)';
    case 'seccomp': return 'no seccomp: containers run without a syscall filter';
    case 'cgroup-controllers': {
      const missing = LIMIT_CONTROLLERS.filter((c) => !(c in cgroup.usable));
      return `no ${missing.join(', ')} controller: the matching --memory/--cpus/--pids-limit cannot be enforced`;
    }
    case 'openat2': return 'no openat2: mount targets cannot be confined with RESOLVE_IN_ROOT';
    case 'clone3': return 'no clone3: containers are started with clone()';
    case 'clone_into_cgroup': return 'no CLONE_INTO_CGROUP: the first process joins its cgroup just after clone';
    default: return null;
  }
}

function cgroupMeaning(cg: CgroupFacts): string | null {
  const v2 = cg.v2;
  switch (cg.mode) {
    case 'none':
      return 'no cgroups: resource limits cannot be enforced';
    case 'legacy':
      return 'cgroup v1 only: limits use v1 controllers';
    case 'hybrid': {
      const fromV1 = LIMIT_CONTROLLERS.filter((c) => cg.usable[c] === 'v1');
      const v2Has = v2?.rootControllers.length ? `only ${v2.rootControllers.join(' ')}` : 'no controllers';
      return fromV1.length
        ? `hybrid: v2 tree has ${v2Has}, tsrun uses v1 for ${fromV1.join('/')}`
        : `hybrid: v2 tree has ${v2Has}`;
    }
    case 'unified': {
      if (!v2?.cannotEnable.length) return null;
      return `cgroup v2: ${v2.mountPoint} is a delegated cgroup holding processes, so its subtree_control cannot enable ${v2.cannotEnable.join(' ')}`;
    }
  }
}
