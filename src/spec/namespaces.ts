// --ipc, --pid, --uts and --cgroupns → which namespaces a container gets
// of its own, shares with the host, or joins from another container, with
// Docker's mode names (api/types/container IpcMode, PidMode, UTSMode,
// CgroupnsMode) and moby's WithNamespaces rules.

import { TsrunError } from '../errors.js';
import type { NamespaceType, OciNamespace } from './oci.js';

/**
 * IPC: private (the default; no other container may join it), shareable
 * (its own, and others may join it), host, none (its own, without a
 * /dev/shm mount), or container:REF (join REF's, which must be shareable).
 */
export type IpcMode = { kind: 'private' | 'shareable' | 'host' | 'none' } | { kind: 'container'; ref: string };
/** PID: its own (the default), the host's, or container:REF's. */
export type PidMode = { kind: 'private' | 'host' } | { kind: 'container'; ref: string };
export type UtsMode = 'private' | 'host';
export type CgroupnsMode = 'private' | 'host';

export interface NamespaceModes {
  ipc: IpcMode;
  pid: PidMode;
  uts: UtsMode;
  cgroupns: CgroupnsMode;
}

export const DEFAULT_MODES: NamespaceModes = Object.freeze({
  ipc: { kind: 'private' },
  pid: { kind: 'private' },
  uts: 'private',
  cgroupns: 'private',
}) as NamespaceModes;

function containerRef(value: string, flag: string): string | undefined {
  if (!value.startsWith('container:')) return undefined;
  const ref = value.slice('container:'.length);
  if (!ref) throw new TsrunError('INVALID_ARGUMENT', `${flag}: invalid mode ${JSON.stringify(value)}: container: needs a container name or id`);
  return ref;
}

export function parseIpcMode(value: string | undefined): IpcMode {
  if (value === undefined || value === '') return { kind: 'private' };
  const ref = containerRef(value, '--ipc');
  if (ref) return { kind: 'container', ref };
  if (value === 'private' || value === 'shareable' || value === 'host' || value === 'none') return { kind: value };
  throw new TsrunError('INVALID_ARGUMENT', `--ipc: invalid IPC mode ${JSON.stringify(value)}: use private, shareable, host, none or container:NAME`);
}

export function parsePidMode(value: string | undefined): PidMode {
  if (value === undefined || value === '') return { kind: 'private' };
  const ref = containerRef(value, '--pid');
  if (ref) return { kind: 'container', ref };
  if (value === 'host') return { kind: 'host' };
  throw new TsrunError('INVALID_ARGUMENT', `--pid: invalid PID mode ${JSON.stringify(value)}: use host or container:NAME`);
}

export function parseUtsMode(value: string | undefined): UtsMode {
  if (value === undefined || value === '') return 'private';
  if (value === 'host') return 'host';
  throw new TsrunError('INVALID_ARGUMENT', `--uts: invalid UTS mode ${JSON.stringify(value)}: use host`);
}

export function parseCgroupnsMode(value: string | undefined): CgroupnsMode {
  if (value === undefined || value === '') return 'private';
  if (value === 'private' || value === 'host') return value;
  throw new TsrunError('INVALID_ARGUMENT', `--cgroupns: invalid CGROUP mode ${JSON.stringify(value)}: use private or host`);
}

/** Docker's spelling of a mode, as inspect shows it (IpcMode, PidMode, UTSMode, CgroupnsMode). */
export function ipcModeText(m: IpcMode): string {
  return m.kind === 'container' ? `container:${m.ref}` : m.kind;
}

export function pidModeText(m: PidMode): string {
  return m.kind === 'container' ? `container:${m.ref}` : m.kind === 'host' ? 'host' : '';
}

/**
 * A placeholder path for a namespace joined from another container: the
 * real /proc/PID/ns/... is only known when that container runs, and is
 * filled in at every start (joinNamespaces).
 */
const JOIN_PLACEHOLDER = (type: NamespaceType) => `/proc/self/ns/${type === 'network' ? 'net' : type}`;

/**
 * Applies the modes to a namespace list (the defaults, with the network
 * already decided): host removes the namespace, container: joins it.
 */
export function applyNamespaceModes(namespaces: OciNamespace[], modes: NamespaceModes): OciNamespace[] {
  const host = new Set<NamespaceType>();
  const joined = new Set<NamespaceType>();
  if (modes.ipc.kind === 'host') host.add('ipc');
  if (modes.ipc.kind === 'container') joined.add('ipc');
  if (modes.pid.kind === 'host') host.add('pid');
  if (modes.pid.kind === 'container') joined.add('pid');
  if (modes.uts === 'host') host.add('uts');
  if (modes.cgroupns === 'host') host.add('cgroup');
  return namespaces
    .filter((ns) => !host.has(ns.type))
    .map((ns) => (joined.has(ns.type) ? { type: ns.type, path: JOIN_PLACEHOLDER(ns.type) } : ns));
}

/** The /proc/PID/ns/... to join for each namespace taken from another (running) container. */
export type NamespaceJoins = Partial<Record<'ipc' | 'pid', number>>;

/** At start: points the joined namespaces at the other containers' current processes. */
export function joinNamespaces(namespaces: OciNamespace[], joins: NamespaceJoins): OciNamespace[] {
  return namespaces.map((ns) => {
    const pid = ns.type === 'ipc' || ns.type === 'pid' ? joins[ns.type] : undefined;
    return pid !== undefined ? { type: ns.type, path: `/proc/${pid}/ns/${ns.type}` } : ns;
  });
}
