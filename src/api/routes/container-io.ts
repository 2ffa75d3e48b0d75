// (to be written)
import type { Route } from '../router.js';

export const containerIoRoutes: Route[] = [];
