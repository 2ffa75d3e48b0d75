// Errors as the Docker Engine API sends them: `{"message": ...}` with the
// status code its clients branch on (the docker CLI, compose and docker-py
// test for 404 to pull a missing image, 409 for a name in use, 304 for a
// start of a running container).
import { TsrunError, type TsrunErrorCode } from '../errors.js';

/** An error a handler raises with its own status (400 for a bad query value, 304 not modified...). */
export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
    this.name = 'ApiError';
  }
}

const STATUS: Partial<Record<TsrunErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  INVALID_REFERENCE: 400,
  ENV_FILE_INVALID: 400,
  DOCKERFILE_INVALID: 400,
  USER_NOT_FOUND: 400,
  ROOTFS_NOT_FOUND: 400,
  COMMAND_NOT_FOUND: 400,
  COMMAND_NOT_EXECUTABLE: 400,
  CONTAINER_NOT_FOUND: 404,
  IMAGE_NOT_FOUND: 404,
  NETWORK_NOT_FOUND: 404,
  PLATFORM_NOT_FOUND: 404,
  NAME_IN_USE: 409,
  INVALID_STATE: 409,
  IMAGE_IN_USE: 409,
  NETWORK_IN_USE: 409,
  CGROUP_BUSY: 409,
  REGISTRY_UNAUTHORIZED: 401,
  REGISTRY_DENIED: 403,
  UNSUPPORTED: 501,
};

export function statusOf(err: unknown): number {
  if (err instanceof ApiError) return err.status;
  if (err instanceof TsrunError) return STATUS[err.code] ?? 500;
  const code = (err as { code?: unknown })?.code;
  if (code === 'ENOENT' && /volume/i.test(String((err as Error).message))) return 404;
  return 500;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export const notFound = (what: string): ApiError => new ApiError(404, what);
export const badRequest = (what: string): ApiError => new ApiError(400, what);
