// Turn a Docker `--user` value into the numeric uid/gid/groups of the OCI
// spec, with runc's semantics (libcontainer/user GetExecUser) and moby's
// additionalGids (the primary gid first, then supplementary groups).
//
// Names are looked up in the IMAGE's /etc/passwd and /etc/group, which are
// untrusted: they are read through readFileInRoot so a symlink planted at
// /etc/passwd can never make us read a host file.

import { TsrunError } from '../errors.js';
import { readFileInRoot } from '../util/resolve-in-root.js';
import type { OciUser } from './oci.js';

/** Largest valid id: 2^32-1 is (uid_t)-1, which the kernel reserves as "no change". */
export const MAX_ID = 2 ** 32 - 2;

export interface PasswdEntry { name: string; uid: number; gid: number; home: string }
export interface GroupEntry { name: string; gid: number; members: string[] }

/** The process user plus what the builder needs besides the OCI fields. */
export interface ExecUser {
  user: OciUser;
  /** Home directory from passwd, or '/' when unknown (runc's default for HOME). */
  home: string;
}

const DECIMAL = /^\d+$/;
// Looks like a number to strconv.Atoi (sign allowed): such a user part is an
// id and never a name, so `-1` is a range error rather than "no such user".
const NUMERIC = /^[+-]?\d+$/;

function parseId(field: string | undefined): number | undefined {
  if (field === undefined || !DECIMAL.test(field)) return undefined;
  const n = Number(field);
  return n <= MAX_ID ? n : undefined;
}

/** Lines of a passwd/group file, trimmed, without blanks and comments. */
function records(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

/**
 * Parses passwd(5) text. Lines whose uid or gid is not a valid id are
 * skipped (runc would read them as 0, i.e. root, which no image means).
 */
export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const [name, , uidField, gidField, , home] of records(text)) {
    const uid = parseId(uidField);
    const gid = parseId(gidField);
    if (!name || uid === undefined || gid === undefined) continue;
    out.push({ name, uid, gid, home: home ?? '' });
  }
  return out;
}

/** Parses group(5) text: `name:password:gid:member,member`. */
export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const [name, , gidField, list] of records(text)) {
    const gid = parseId(gidField);
    if (!name || gid === undefined) continue;
    const members = (list ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '');
    out.push({ name, gid, members });
  }
  return out;
}

function toId(arg: string): number {
  const n = Number(arg);
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_ID) {
    throw new TsrunError('INVALID_ARGUMENT', `uids and gids must be in range 0-${MAX_ID}`);
  }
  return n;
}

/**
 * Pure core of resolveUser: `passwd`/`group` are the parsed files, or null
 * when the file does not exist. Forms: '' or undefined (root), `user`,
 * `user:group`, `:group`, where user and group are each a name or an id.
 */
export function resolveUserFrom(
  spec: string | undefined,
  passwd: PasswdEntry[] | null,
  group: GroupEntry[] | null,
): ExecUser {
  const parts = (spec ?? '').split(':');
  if (parts.length > 2) throw new TsrunError('INVALID_ARGUMENT', `invalid user ${JSON.stringify(spec)}: expected user[:group]`);
  const userArg = parts[0] ?? '';
  const groupArg = parts[1] ?? '';

  let uid = 0;
  let gid = 0;
  let home = '/';
  let username: string | undefined;

  // A numeric user is always an id, even if some entry is named "1000".
  const userIsId = NUMERIC.test(userArg);
  const wantedUid = userArg === '' ? 0 : userIsId ? toId(userArg) : undefined;
  const entry = (passwd ?? []).find((p) => (wantedUid !== undefined ? p.uid === wantedUid : p.name === userArg));
  if (entry) {
    // First match wins, as in runc.
    ({ uid, gid, name: username } = entry);
    if (entry.home !== '') home = entry.home;
  } else if (wantedUid !== undefined) {
    // An id without a passwd entry is fine; gid stays 0 like runc.
    uid = wantedUid;
  } else {
    throw new TsrunError('USER_NOT_FOUND', `unable to find user ${userArg}: no matching entries in passwd file`);
  }

  const groups = group ?? [];
  let supplementary: number[] = [];
  if (groupArg !== '') {
    // Explicit group: it replaces the primary gid; runc adds no
    // supplementary groups in this form.
    const groupIsId = NUMERIC.test(groupArg);
    const wantedGid = groupIsId ? toId(groupArg) : undefined;
    const g = groups.find((e) => (wantedGid !== undefined ? e.gid === wantedGid : e.name === groupArg));
    if (g) gid = g.gid;
    else if (wantedGid !== undefined) gid = wantedGid;
    else throw new TsrunError('USER_NOT_FOUND', `unable to find group ${groupArg}: no matching entries in group file`);
  } else if (username !== undefined) {
    const name = username;
    supplementary = groups.filter((e) => e.members.includes(name)).map((e) => e.gid);
  }

  const user: OciUser = { uid, gid, additionalGids: [...new Set([gid, ...supplementary])] };
  if (username !== undefined) user.username = username;
  return { user, home };
}

/**
 * Resolves `spec` (Docker's --user / image USER) against the rootfs's
 * /etc/passwd and /etc/group. Throws USER_NOT_FOUND for an unknown name,
 * INVALID_ARGUMENT for an id out of range or a malformed spec.
 */
export async function resolveExecUser(rootfs: string, spec: string | undefined): Promise<ExecUser> {
  const [passwdText, groupText] = await Promise.all([
    readFileInRoot(rootfs, '/etc/passwd'),
    readFileInRoot(rootfs, '/etc/group'),
  ]);
  return resolveUserFrom(
    spec,
    passwdText === null ? null : parsePasswd(passwdText),
    groupText === null ? null : parseGroup(groupText),
  );
}

/** resolveExecUser without the home directory: just the OCI process user. */
export async function resolveUser(rootfs: string, spec: string | undefined): Promise<OciUser> {
  return (await resolveExecUser(rootfs, spec)).user;
}
