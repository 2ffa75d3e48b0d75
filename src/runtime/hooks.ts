// OCI hooks (runtime-spec config.md#posix-platform-hooks) as the engine
// runs them. The native side runs the ones that happen during create
// (prestart and createRuntime in the runtime's namespaces, createContainer
// in the container's before pivot_root) and startContainer (in the
// container, just before its command); poststart and poststop run from here
// through the same native runner. The failure rules are the spec's: a
// create-time hook that fails fails the create; a failed poststart or
// poststop hook is only a warning, and the lifecycle goes on.
import { TsrunError } from '../errors.js';
import type { NativeBinding, NativeHook } from '../native/binding.js';
import type { NativeContainerConfig } from '../native/types.js';
import { OCI_VERSION, type OciHook, type OciHooks } from '../spec/oci.js';

function toNative(list: OciHook[] | undefined, phase: string): NativeHook[] {
  return (list ?? []).map((h, i) => {
    if (typeof h?.path !== 'string' || !h.path.startsWith('/')) {
      throw new TsrunError('INVALID_ARGUMENT', `hooks.${phase}[${i}]: path ${JSON.stringify(h?.path)} must be an absolute path`);
    }
    if (h.timeout !== undefined && (!Number.isInteger(h.timeout) || h.timeout <= 0)) {
      throw new TsrunError('INVALID_ARGUMENT', `hooks.${phase}[${i}]: timeout must be a positive number of seconds`);
    }
    return { path: h.path, args: h.args?.length ? [...h.args] : [h.path], env: [...(h.env ?? [])], timeout: h.timeout ?? 0 };
  });
}

export interface HookStateBase {
  id: string;
  bundle: string;
  annotations?: Record<string, string>;
}

/** The state document for a phase, without its opening '{' and pid (the native runner adds `{"pid":N,`). */
export function stateRest(base: HookStateBase, status: string): string {
  const doc = { ociVersion: OCI_VERSION, id: base.id, status, bundle: base.bundle, annotations: base.annotations ?? {} };
  return JSON.stringify(doc).slice(1);
}

/** What the native config carries: the create-time lists (prestart before createRuntime) and each phase's state. */
export function nativeHooks(hooks: OciHooks | undefined, base: HookStateBase): Pick<NativeContainerConfig, 'hooks' | 'hookState'> {
  const lists = {
    createRuntime: [...toNative(hooks?.prestart, 'prestart'), ...toNative(hooks?.createRuntime, 'createRuntime')],
    createContainer: toNative(hooks?.createContainer, 'createContainer'),
    startContainer: toNative(hooks?.startContainer, 'startContainer'),
  };
  // Checked here too, so a bad poststart/poststop hook fails create, not later.
  toNative(hooks?.poststart, 'poststart');
  toNative(hooks?.poststop, 'poststop');
  if (!lists.createRuntime.length && !lists.createContainer.length && !lists.startContainer.length) return {};
  return { hooks: lists, hookState: { creating: stateRest(base, 'creating'), created: stateRest(base, 'created') } };
}

/** Runs poststart or poststop hooks; returns the warning to report when one fails. */
export function runAfterHooks(
  native: NativeBinding,
  phase: 'poststart' | 'poststop',
  hooks: OciHook[] | undefined,
  pid: number,
  base: HookStateBase,
): string | undefined {
  if (!hooks?.length) return undefined;
  try {
    native.runHooks(toNative(hooks, phase), phase, pid, stateRest(base, phase === 'poststart' ? 'running' : 'stopped'));
    return undefined;
  } catch (err) {
    return `${phase} hook failed: ${hookErrorText(err)}`;
  }
}

/** "HOOK: exit status 1", or why it could not run. */
export function hookErrorText(err: unknown): string {
  const e = err as { path?: string; code?: string; message?: string };
  if (e.code === 'ECANCELED' || (e.path && /: (exit status|killed by|timed out)/.test(e.path))) return e.path ?? String(e.message);
  return e.path ? `${e.path}: ${e.message?.replace(/^.*?: /, '')}` : String(e.message);
}
