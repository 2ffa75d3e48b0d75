// COPY/ADD --chown (and a WORKDIR made for USER): names resolved in the
// stage's own /etc/passwd and /etc/group. Docker's rule: a user without a
// group gets the same number as its gid, not its primary group.
import { resolveExecUser } from '../spec/user.js';

export async function resolveChown(rootfs: string, spec: string): Promise<{ uid: number; gid: number } | undefined> {
  if (!spec) return undefined;
  const [userPart, groupPart] = spec.split(':');
  const { user } = await resolveExecUser(rootfs, groupPart === undefined ? userPart : spec);
  return { uid: user.uid, gid: groupPart === undefined ? user.uid : user.gid };
}
