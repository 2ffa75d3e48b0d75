// (to be written)
import type { Route } from '../router.js';

export const eventRoutes: Route[] = [];
