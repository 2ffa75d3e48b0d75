// Where containers live: their records under --root (ContainerStore) and
// their engine instances under --runroot (Engine), one directory per id.
import { join } from 'node:path';

export const recordsDir = (root: string): string => join(root, 'containers');
export const instancesDir = (runroot: string): string => join(runroot, 'containers');
