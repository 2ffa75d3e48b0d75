// Docker's --detach-keys: the key sequence that lets go of an attached
// container (run -it, attach) and leaves it running; parsed here, matched
// in the input by runtime/attach.ts.
import { TsrunError } from '../errors.js';

/** Docker's default --detach-keys. */
export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

// moby/term's ASCII table: ctrl-@ is 0, ctrl-a 1, ... ctrl-_ 31.
const CTRL_KEYS = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

/**
 * Docker's --detach-keys (moby/term ToBytes): comma-separated keys, each a
 * single character or `ctrl-X` with X one of a-z @ [ \ ] ^ _ (or DEL).
 */
export function parseDetachKeys(keys: string): Buffer {
  const out: number[] = [];
  for (const key of keys.split(',')) {
    if (key.length === 1 && key.charCodeAt(0) < 128) out.push(key.charCodeAt(0));
    else if (key === 'DEL') out.push(127);
    else if (/^ctrl-.$/.test(key) && CTRL_KEYS.includes(key[5])) out.push(CTRL_KEYS.indexOf(key[5]));
    else {
      throw new TsrunError(
        'INVALID_ARGUMENT',
        `invalid --detach-keys ${JSON.stringify(keys)}: Unknown character: '${key}' (use ctrl-<a-z, @, [, \\, ], ^ or _> or single characters, separated by commas)`,
      );
    }
  }
  return Buffer.from(out);
}

/**
 * Docker's escape proxy: input passes through until it starts to spell the
 * detach keys; those bytes are held while it does, and passed on after all
 * if it turns out not to. `feed` returns what to send, or null once the
 * whole sequence was typed.
 */
export function detachScanner(keys: Buffer): (chunk: Buffer) => Buffer | null {
  let pos = 0;
  return (chunk) => {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === keys[pos]) {
        if (++pos === keys.length) return null;
        continue;
      }
      if (pos > 0) {
        out.push(...keys.subarray(0, pos));
        pos = 0;
        if (byte === keys[0]) {
          if (++pos === keys.length) return null;
          continue;
        }
      }
      out.push(byte);
    }
    return Buffer.from(out);
  };
}
