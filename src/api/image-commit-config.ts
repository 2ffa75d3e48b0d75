// The body of POST /commit: a container Config (Docker's), of which an
// image keeps the process settings. Checked field by field so that a
// wrong type is a 400 naming the field, not a failure deep in the commit.
import type { ImageRuntimeConfig } from '../image/config.js';
import { badRequest } from './errors.js';

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The image fields of a Config body (null or {} when the client sent none: the container's own settings). */
export function commitConfig(body: unknown): ImageRuntimeConfig | undefined {
  if (body === null || body === undefined) return undefined;
  if (!isObject(body)) throw badRequest('the commit body must be a JSON object (a container Config) or null');
  const out: ImageRuntimeConfig = {};
  const wrong = (field: string, want: string) => badRequest(`invalid Config.${field}: expected ${want}`);
  const strField = (field: 'User' | 'WorkingDir' | 'StopSignal'): void => {
    const v = body[field];
    if (v === undefined || v === null || v === '') return;
    if (typeof v !== 'string') throw wrong(field, 'a string');
    out[field] = v;
  };
  // Docker's strslice: a string is a one-element list.
  const argv = (field: 'Cmd' | 'Entrypoint' | 'Shell' | 'OnBuild'): void => {
    const v = body[field];
    if (v === undefined || v === null) return;
    if (typeof v === 'string') out[field] = [v];
    else if (isStrings(v)) out[field] = v;
    else throw wrong(field, 'a list of strings');
  };
  const set = (field: 'ExposedPorts' | 'Volumes'): void => {
    const v = body[field];
    if (v === undefined || v === null) return;
    if (!isObject(v)) throw wrong(field, 'an object');
    out[field] = Object.fromEntries(Object.keys(v).map((k) => [k, {}]));
  };
  strField('User');
  strField('WorkingDir');
  strField('StopSignal');
  argv('Cmd');
  argv('Entrypoint');
  argv('Shell');
  argv('OnBuild');
  set('ExposedPorts');
  set('Volumes');
  if (body.Env !== undefined && body.Env !== null) {
    if (!isStrings(body.Env)) throw wrong('Env', 'a list of KEY=VALUE strings');
    out.Env = body.Env;
  }
  if (body.Labels !== undefined && body.Labels !== null) {
    if (!isObject(body.Labels) || !Object.values(body.Labels).every((v) => typeof v === 'string')) throw wrong('Labels', 'an object of strings');
    out.Labels = body.Labels as Record<string, string>;
  }
  if (isObject(body.Healthcheck)) out.Healthcheck = body.Healthcheck as unknown as ImageRuntimeConfig['Healthcheck'];
  return out;
}
