// IPv4 address and CIDR arithmetic on plain numbers (unsigned 32-bit).
import { TsrunError } from '../errors.js';

export interface Cidr {
  /** The network address as a number (host bits zero). */
  base: number;
  prefix: number;
}

export function parseIpv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p, i) => p > 255 || (m[i + 1].length > 1 && m[i + 1].startsWith('0')))) return null;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** Parses "A.B.C.D/N"; with `strict`, host bits must be zero (as Docker requires for --subnet). */
export function parseCidr(s: string, strict = true): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  const addr = m ? parseIpv4(m[1]) : null;
  const prefix = m ? Number(m[2]) : NaN;
  if (addr === null || !(prefix >= 0 && prefix <= 32)) throw new TsrunError('INVALID_ARGUMENT', `invalid subnet ${JSON.stringify(s)}: expected an IPv4 CIDR such as 10.89.0.0/24`);
  const base = (addr & mask(prefix)) >>> 0;
  if (strict && base !== addr) throw new TsrunError('INVALID_ARGUMENT', `invalid subnet ${s}: host bits are set (did you mean ${formatIpv4(base)}/${prefix}?)`);
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIpv4(c.base)}/${c.prefix}`;
}

export function cidrSize(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function cidrContains(c: Cidr, addr: number): boolean {
  return ((addr & mask(c.prefix)) >>> 0) === c.base;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.base & mask(p)) >>> 0) === ((b.base & mask(p)) >>> 0);
}

/** Broadcast address of the subnet. */
export function lastAddress(c: Cidr): number {
  return (c.base + cidrSize(c) - 1) >>> 0;
}

/** True when addr is a usable host address of the subnet (not the network or broadcast address for prefixes < 31). */
export function isHostAddress(c: Cidr, addr: number): boolean {
  if (!cidrContains(c, addr)) return false;
  if (c.prefix >= 31) return true;
  return addr !== c.base && addr !== lastAddress(c);
}
