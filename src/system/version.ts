// `tsrun version`: Docker's version document. tsrun is client and engine in
// one process, so both halves carry the same version; the runtime component
// is tsrun-oci (the engine both CLIs share). Node plays Go's part.
import { statSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { hostPlatform } from '../image/platform.js';
import { OCI_VERSION } from '../spec/oci.js';
import { VERSION, gitCommit } from './package-version.js';

/** The Docker Engine API version tsrun's documents follow. */
export const API_VERSION = '1.41';
export const MIN_API_VERSION = '1.24';
export const TSRUN_VERSION = VERSION;

export interface ComponentVersion {
  Name: string;
  Version: string;
  Details: Record<string, string>;
}

export interface ClientVersion {
  Platform: { Name: string };
  Version: string;
  ApiVersion: string;
  DefaultAPIVersion: string;
  GitCommit: string;
  /** Docker's Go version; here the Node.js that runs tsrun (node20.19.0). */
  GoVersion: string;
  Os: string;
  Arch: string;
  BuildTime: string;
  Context: string;
}

export interface ServerVersion {
  Platform: { Name: string };
  Components: ComponentVersion[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion: string;
  GitCommit: string;
  GoVersion: string;
  Os: string;
  Arch: string;
  KernelVersion: string;
  Experimental: boolean;
  BuildTime: string;
}

export interface VersionInfo {
  Client: ClientVersion;
  Server: ServerVersion;
}

/** When this build was made: the compiled module's time (dist/ is written by the build). */
function buildTime(): string {
  try {
    return statSync(fileURLToPath(import.meta.url)).mtime.toISOString();
  } catch {
    return '';
  }
}

export function versionInfo(): VersionInfo {
  const commit = gitCommit();
  const short = commit === 'unknown' ? commit : commit.slice(0, 7);
  const goVersion = `node${process.versions.node}`;
  const arch = hostPlatform().architecture;
  const built = buildTime();
  const platform = { Name: 'tsrun' };
  const engine: ComponentVersion = {
    Name: 'Engine',
    Version: VERSION,
    Details: {
      ApiVersion: API_VERSION, Arch: arch, BuildTime: built, Experimental: 'false', GitCommit: short, GoVersion: goVersion,
      KernelVersion: release(), MinAPIVersion: MIN_API_VERSION, Os: 'linux',
    },
  };
  return {
    Client: {
      Platform: platform, Version: VERSION, ApiVersion: API_VERSION, DefaultAPIVersion: API_VERSION, GitCommit: short,
      GoVersion: goVersion, Os: 'linux', Arch: arch, BuildTime: built, Context: 'default',
    },
    Server: {
      Platform: platform,
      Components: [engine, { Name: 'tsrun-oci', Version: VERSION, Details: { GitCommit: commit, Spec: OCI_VERSION } }],
      Version: VERSION, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: short, GoVersion: goVersion,
      Os: 'linux', Arch: arch, KernelVersion: release(), Experimental: false, BuildTime: built,
    },
  };
}
