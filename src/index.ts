export { Tsrun, DEFAULT_ROOT, DEFAULT_RUNROOT, type TsrunOptions } from './tsrun.js';
export { TsrunError, NativeSystemError, type TsrunErrorCode } from './errors.js';
export type { Containers, ContainerView, CreateRequest, DockerStatus } from './runtime/containers.js';
export { Engine, type EngineState, type OciStatus } from './runtime/engine.js';
export type { AttachedRun } from './runtime/run.js';
export type { OciSpec } from './spec/oci.js';
export type { Networks, NetworkInspect } from './network/networks.js';
export type { NetworkRecord } from './network/config.js';
export { buildSpec, type RunOptions } from './spec/build.js';
export {
  systemInfo, versionInfo, systemDf, systemPrune, systemReset, parsePruneFilters,
  type InfoOptions, type SystemInfo, type VersionInfo, type DiskUsage, type SystemPruneOptions, type SystemPruneReport, type ResetReport, type PruneFilters,
} from './system/index.js';
export { copyFromContainer, copyToContainer, archiveFromContainer, extractToContainer, type CopyDeps, type CopyOptions, type CopyResult } from './copy/copy.js';
export {
  followEvents, readJournal, appendEvent, eventMessage, containerEvent, imageEvent, networkEvent, volumeEvent, healthStatusEvent,
  parseEventFilters, parseEventFilterJson, parseEventTimes, JournalTail,
  type EventMessage, type EventType, type EventActor, type EventContainer, type FollowOptions, type EventFilter,
} from './events/index.js';
