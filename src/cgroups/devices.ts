// Device-cgroup rules: OCI linux.resources.devices → normalised rules for
// the v2 eBPF filter, or devices.allow/devices.deny lines for v1.
//
// Whatever the spec says, a container starts from "deny everything" (runc
// does the same: its rule emulator starts as a deny-list), and the rules
// then apply in order, the last match winning. A spec without a device list
// gets Docker's defaults, so an OCI bundle that forgets them still cannot
// open the host's disks.

import { TsrunError } from '../errors.js';
import type { NativeDeviceRule } from '../native/types.js';
import { DEFAULT_DEVICE_RULES } from '../spec/defaults.js';
import type { LinuxDeviceCgroup } from '../spec/oci.js';

const DENY_ALL: NativeDeviceRule = { allow: false, type: 'a', major: -1, minor: -1, access: 'rwm' };

function normalise(rule: LinuxDeviceCgroup, index: number): NativeDeviceRule {
  const where = `linux.resources.devices[${index}]`;
  const type = rule.type ?? 'a';
  if (type !== 'a' && type !== 'c' && type !== 'b') {
    throw new TsrunError('INVALID_ARGUMENT', `${where}: device type must be a, c or b, not ${JSON.stringify(type)}`);
  }
  const access = rule.access ?? 'rwm';
  if (!/^[rwm]+$/.test(access)) throw new TsrunError('INVALID_ARGUMENT', `${where}: access must be made of r, w and m, not ${JSON.stringify(access)}`);
  const num = (n: number | undefined, what: string) => {
    if (n == null) return -1; // also null from hand-written JSON
    // The eBPF filter compares against a signed 32-bit immediate; real majors and minors are far below that.
    if (!Number.isSafeInteger(n) || n < -1 || n > 0x7fffffff) throw new TsrunError('INVALID_ARGUMENT', `${where}: invalid ${what} ${n}`);
    return n;
  };
  // "a" covers every device whatever else the rule says (v1 semantics).
  if (type === 'a') return { allow: !!rule.allow, type, major: -1, minor: -1, access: 'rwm' };
  return { allow: !!rule.allow, type, major: num(rule.major, 'major'), minor: num(rule.minor, 'minor'), access: [...new Set(access)].join('') };
}

/** The full rule list to install: deny everything, then the spec's rules (or Docker's defaults). */
export function deviceRules(devices: LinuxDeviceCgroup[] | undefined): NativeDeviceRule[] {
  const rules = (devices ?? DEFAULT_DEVICE_RULES).map(normalise);
  // A leading "a" rule already decides everything before it (Docker's lists start with deny-all).
  return rules[0]?.type === 'a' ? rules : [DENY_ALL, ...rules];
}

/** "c 1:3 rwm", with * for any number; "a" alone for every device. */
export function v1RuleText(rule: NativeDeviceRule): string {
  if (rule.type === 'a') return 'a';
  const n = (x: number) => (x < 0 ? '*' : String(x));
  return `${rule.type} ${n(rule.major)}:${n(rule.minor)} ${rule.access}`;
}

/** The v1 writes, in order: each rule goes to devices.allow or devices.deny. */
export function v1DeviceWrites(rules: NativeDeviceRule[]): Array<{ file: 'devices.allow' | 'devices.deny'; value: string }> {
  return rules.map((r) => ({ file: r.allow ? 'devices.allow' : 'devices.deny', value: v1RuleText(r) }));
}
