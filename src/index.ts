export { Tsrun, DEFAULT_ROOT, DEFAULT_RUNROOT, type TsrunOptions } from './tsrun.js';
export { TsrunError, NativeSystemError, type TsrunErrorCode } from './errors.js';
export type { RunRequest, RunStdio, RunningContainer } from './runtime/run.js';
export type { OciSpec } from './spec/oci.js';
export { buildSpec, type RunOptions } from './spec/build.js';
