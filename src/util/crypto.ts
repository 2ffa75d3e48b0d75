// node:crypto, loaded on first use. Loading it costs a few ms (Node's stream
// modules come with it), which verbs that never hash or draw random bytes
// (inspect, ps, logs, stop...) should not pay at start-up.
import { createRequire } from 'node:module';

let loaded: typeof import('node:crypto') | undefined;

export function nodeCrypto(): typeof import('node:crypto') {
  return (loaded ??= createRequire(import.meta.url)('node:crypto') as typeof import('node:crypto'));
}
