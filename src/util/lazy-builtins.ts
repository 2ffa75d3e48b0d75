// Built-in modules a verb's start-up should not pay for, loaded on first
// use. Each costs a few ms to load (node:crypto and node:net bring Node's
// stream modules with them), and verbs that never hash, draw random bytes
// or check an address (inspect, ps, logs, stop...) need none of them.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);
let crypto: typeof import('node:crypto') | undefined;
let net: typeof import('node:net') | undefined;

export function nodeCrypto(): typeof import('node:crypto') {
  return (crypto ??= load('node:crypto') as typeof import('node:crypto'));
}

export function nodeNet(): typeof import('node:net') {
  return (net ??= load('node:net') as typeof import('node:net'));
}
