// The system verbs' core: info, version, disk usage, prune and reset of one store.
export { systemInfo, type InfoOptions, type SystemInfo } from './info.js';
export { versionInfo, API_VERSION, type VersionInfo } from './version.js';
export { systemDf, type DiskUsage, type UsageSummary } from './df.js';
export { systemPrune, type SystemPruneOptions, type SystemPruneReport } from './prune.js';
export { systemReset, type ResetReport } from './reset.js';
export { parsePruneFilters, type PruneFilters } from '../util/prune-filters.js';
