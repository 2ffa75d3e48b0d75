// Built-in modules a verb's start-up should not pay for, loaded on first
// use. Each costs a few ms to load (node:crypto, node:net and
// node:child_process bring Node's stream modules with them), and verbs that
// never hash, draw random bytes, check an address or spawn a helper
// (inspect, ps, logs, stop, run...) need none of them.
import { createRequire } from 'node:module';

let require: NodeJS.Require | undefined;
const load = (id: string): unknown => (require ??= createRequire(import.meta.url))(id);
let crypto: typeof import('node:crypto') | undefined;
let net: typeof import('node:net') | undefined;
let childProcess: typeof import('node:child_process') | undefined;

export function nodeCrypto(): typeof import('node:crypto') {
  return (crypto ??= load('node:crypto') as typeof import('node:crypto'));
}

export function nodeNet(): typeof import('node:net') {
  return (net ??= load('node:net') as typeof import('node:net'));
}

export function nodeChildProcess(): typeof import('node:child_process') {
  return (childProcess ??= load('node:child_process') as typeof import('node:child_process'));
}
