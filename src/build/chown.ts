// COPY/ADD --chown (and a WORKDIR made for USER): names resolved in the
// stage's own /etc/passwd and /etc/group. BuildKit's rule for a user given
// without a group (solver/llbsolver/file/user_linux.go readUser): a name
// takes the group of its passwd entry, a number is used as the gid too.
import { resolveExecUser } from '../spec/user.js';

export async function resolveChown(rootfs: string, spec: string): Promise<{ uid: number; gid: number } | undefined> {
  if (!spec) return undefined;
  const [userPart, groupPart] = spec.split(':');
  const { user } = await resolveExecUser(rootfs, spec);
  if (groupPart !== undefined) return { uid: user.uid, gid: user.gid };
  return { uid: user.uid, gid: /^\d+$/.test(userPart) ? user.uid : user.gid };
}
