// Core errors. Every error that core raises on purpose is a TsrunError with a
// stable `code`; the CLI turns it into one line and a Docker-style exit code.

export type TsrunErrorCode =
  | 'INVALID_ARGUMENT'
  | 'ROOTFS_NOT_FOUND'
  | 'USER_NOT_FOUND'
  | 'ENV_FILE_INVALID'
  | 'COMMAND_NOT_FOUND'
  | 'COMMAND_NOT_EXECUTABLE'
  | 'CONTAINER_SETUP_FAILED'
  | 'CONTAINER_NOT_FOUND'
  | 'NAME_IN_USE'
  | 'INVALID_STATE'
  | 'UNSUPPORTED'
  | 'CGROUP_UNAVAILABLE'
  | 'CGROUP_BUSY'
  | 'NATIVE_UNAVAILABLE'
  // images and registries
  | 'INVALID_REFERENCE'
  | 'IMAGE_NOT_FOUND'
  | 'IMAGE_IN_USE'
  | 'MANIFEST_INVALID'
  | 'PLATFORM_NOT_FOUND'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'DIGEST_MISMATCH'
  | 'LAYER_INVALID'
  | 'ARCHIVE_INVALID'
  | 'REGISTRY_UNAUTHORIZED'
  | 'REGISTRY_UNREACHABLE'
  | 'REGISTRY_ERROR'
  // networks
  | 'NETWORK_NOT_FOUND'
  | 'NETWORK_IN_USE'
  | 'PORT_IN_USE'
  // build and push
  | 'DOCKERFILE_INVALID'
  | 'BUILD_FAILED'
  | 'REGISTRY_DENIED';

export class TsrunError extends Error {
  readonly code: TsrunErrorCode;
  constructor(code: TsrunErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TsrunError';
    this.code = code;
  }
}

/**
 * An error from the native side, shaped like Node's SystemError (code, errno,
 * syscall, path) plus the container set-up step that failed. The native addon
 * is handed this class at load time and constructs it directly.
 */
export class NativeSystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  step: string;
  constructor(fields: { message: string; code: string; errno: number; syscall: string; path?: string; step: string }) {
    super(fields.message);
    this.name = 'NativeSystemError';
    this.code = fields.code;
    this.errno = fields.errno;
    this.syscall = fields.syscall;
    if (fields.path !== undefined) this.path = fields.path;
    this.step = fields.step;
  }
}
