// `--version` in runc's shape: the version and commit (system/package-version.ts) and the OCI spec version.
import { gitCommit, VERSION } from '../../system/package-version.js';
import { OCI_VERSION } from '../../spec/oci.js';

export function versionText(): string {
  return `tsrun-oci version ${VERSION}\ncommit: ${gitCommit()}\nspec: ${OCI_VERSION}`;
}
