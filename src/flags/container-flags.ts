// The flags `run` and `create` take, as commander parses them and as the API service builds them from Docker's create body.
import type { NetworkFlags } from '../runtime/container-network.js';
import type { ResourceFlags } from '../spec/resources.js';
import type { ConfinementFlags } from '../spec/security.js';
import type { HealthLogFlags } from './health-log.js';
import type { RunConfigFlags } from './run-config.js';

export interface ContainerFlags extends ResourceFlags, NetworkFlags, ConfinementFlags, HealthLogFlags, RunConfigFlags {
  rootfs?: string;
  pull?: string;
  platform?: string;
  interactive?: boolean;
  tty?: boolean;
  rm?: boolean;
  restart?: string;
  name?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  entrypoint?: string;
  init?: boolean;
  readOnly?: boolean;
  volume?: string[];
  mount?: string[];
  tmpfs?: string[];
  volumesFrom?: string[];
  cgroupParent?: string;
  userns?: string;
  uidmap?: string[];
  gidmap?: string[];
  label?: string[];
  labelFile?: string[];
  annotation?: string[];
}
