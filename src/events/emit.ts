// Docker's events as the core emits them: one function per kind of actor,
// each building the message as moby's daemon/events does (the legacy
// status/id/from fields for container and image events, the container's
// labels with `image` and `name` over them) and appending it to the
// journal. Core modules import this lazily (`await import(...)`), so verbs
// that change nothing (ps, inspect) never load it. Nothing here throws.
import { constants as osConstants } from 'node:os';
import { appendEvent, eventLine, journalPaths, type AppendOptions } from './journal.js';
import type { EventContainer, EventMessage, EventType } from './types.js';

/** The message for one event at `timeMs` (default now). */
export function eventMessage(type: EventType, action: string, actor: { ID: string; Attributes?: Record<string, string> }, timeMs = Date.now()): EventMessage {
  const ms = Math.floor(timeMs);
  const Actor = { ID: actor.ID, Attributes: actor.Attributes ?? {} };
  // Docker fills the deprecated fields for container and image events only.
  const legacy = type === 'container'
    ? { status: action, id: actor.ID, from: Actor.Attributes.image ?? '' }
    : type === 'image' ? { status: action, id: actor.ID } : {};
  return { ...legacy, Type: type, Action: action, Actor, scope: 'local', time: Math.floor(ms / 1000), timeNano: ms * 1e6 };
}

/** A container's attributes: its labels, then `image` and `name` (Docker's order: they win over labels of those names), then `extra`. */
export function containerAttributes(c: EventContainer, extra?: Record<string, string>): Record<string, string> {
  return { ...c.labels, image: c.image ?? '', name: c.name, ...extra };
}

/**
 * A container event: create, start, die (extra `exitCode`), kill (extra
 * `signal`), stop, destroy, pause, unpause, restart, oom, attach, rename
 * (extra `oldName`), exec_create/exec_start (`execID`), exec_die, commit.
 */
export function containerEvent(
  root: string, action: string, c: EventContainer, extra?: Record<string, string | number>, opts?: { timeMs?: number } & AppendOptions,
): void {
  const attrs: Record<string, string> = {};
  // `signal` as Docker shows it: a number ("15"), whether given as SIGTERM or 15.
  for (const [k, v] of Object.entries(extra ?? {})) attrs[k] = k === 'signal' ? signalNumber(v) : String(v);
  appendEvent(root, eventMessage('container', action, { ID: c.id, Attributes: containerAttributes(c, attrs) }, opts?.timeMs), opts);
}

/**
 * The die and oom lines a container's monitor appends itself when the
 * container exits (native/src/monitor/events.cc fills in %EXIT%, %TIME% and
 * %NANO%), so a detached container's die needs no Node process.
 */
export function exitEventTemplates(root: string, c: EventContainer): { journal: string; die: string; oom: string } {
  const line = (action: string, extra?: Record<string, string>) =>
    eventLine(eventMessage('container', action, { ID: c.id, Attributes: containerAttributes(c, extra) }, 0))
      .replace('"time":0,"timeNano":0}', '"time":%TIME%,"timeNano":%NANO%}');
  return { journal: journalPaths(root).current, die: line('die', { exitCode: '%EXIT%' }), oom: line('oom') };
}

/**
 * `health_status: STATUS` (Docker's action text), for the health checks to
 * call when a container's health changes (starting, healthy, unhealthy).
 */
export function healthStatusEvent(root: string, c: EventContainer, status: string): void {
  containerEvent(root, `health_status: ${status}`, c);
}

/** An image event: pull and push (ID the reference), tag (name the new name), untag, delete, import, load, save, build (ID the image id). */
export function imageEvent(root: string, action: string, id: string, name = id, labels?: Record<string, string>): void {
  appendEvent(root, eventMessage('image', action, { ID: id, Attributes: { ...labels, name } }));
}

/** A network event: create, destroy, and connect/disconnect (`container` the container's id). */
export function networkEvent(root: string, action: string, net: { Id: string; Name: string; Driver?: string }, extra?: Record<string, string>): void {
  appendEvent(root, eventMessage('network', action, { ID: net.Id, Attributes: { name: net.Name, type: net.Driver ?? 'bridge', ...extra } }));
}

/** A volume event: create, destroy, and mount (`container`, `destination`, `read/write`, `propagation`). */
export function volumeEvent(root: string, action: string, name: string, extra?: Record<string, string>): void {
  appendEvent(root, eventMessage('volume', action, { ID: name, Attributes: { driver: 'local', ...extra } }));
}

/** A signal as the number Docker's `kill` event shows (`SIGTERM` → "15"). */
export function signalNumber(signal: NodeJS.Signals | number | string): string {
  if (typeof signal === 'number') return String(signal);
  if (/^\d+$/.test(signal)) return signal;
  const name = (signal.startsWith('SIG') ? signal : `SIG${signal}`).toUpperCase() as NodeJS.Signals;
  return String(osConstants.signals[name] ?? signal);
}
