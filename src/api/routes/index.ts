// Every endpoint, by subsystem: one small handler each over the core calls
// the CLI makes.
import type { Route } from '../router.js';
import { buildRoutes } from './build.js';
import { containerIoRoutes } from './container-io.js';
import { containerRoutes } from './containers.js';
import { eventRoutes } from './events.js';
import { execRoutes } from './exec.js';
import { imageRoutes } from './images.js';
import { networkRoutes } from './networks.js';
import { systemRoutes } from './system.js';
import { volumeRoutes } from './volumes.js';

export function allRoutes(): Route[] {
  return [...systemRoutes, ...containerRoutes, ...containerIoRoutes, ...execRoutes, ...imageRoutes, ...buildRoutes, ...networkRoutes, ...volumeRoutes, ...eventRoutes];
}
