// nftables: every tsrun rule lives in one table (`table ip tsrun`), so
// `nft list table ip tsrun` shows all of them and `nft delete table ip tsrun`
// removes all of them. Layout:
//
//   chain prerouting  nat, hook prerouting -100  fib daddr type local jump ports
//   chain output      nat, hook output -100      fib daddr type local jump ports
//   chain postrouting nat, hook postrouting 100  jump net-postrouting
//   chain forward     filter, hook forward 0     jump net-forward; ct established,related accept; ct status dnat accept
//   chain guard       filter, hook prerouting -150  jump net-guard
//   chain ports            DNAT rules, one per published port, comment "ctr <id> <proto> <hostIp> <hostPort> <ctrPort>"
//   chain net-postrouting  per network, comment "net <bridge device>": masquerade SUBNET going out a non-bridge interface,
//                          masquerade 127.0.0.0/8 and hairpin (DNATed from the subnet) going into the bridge
//   chain net-forward      per network: drop to another tsrun bridge (set `bridges`) unless DNATed (isolation),
//                          accept from the bridge; for --internal drop anything crossing it
//   chain net-guard        per network: drop packets from the bridge addressed to 127.0.0.0/8 (see below)
//
// The base chains are flushed and refilled in the same transaction that
// (re)declares them, so ensureBase() is idempotent and safe under parallel
// CLIs. Tagged rules are replaced by handle under the caller's lock if given.
//
// Publishing on the host's own 127.0.0.1: we DNAT in the nat `output` hook
// (locally generated traffic never passes prerouting) and set
// net.ipv4.conf.<bridge>.route_localnet=1, which lets the kernel route a
// packet whose source is 127.0.0.1 out of the bridge; postrouting then
// masquerades that source to the gateway so the container can answer. This
// is Docker's `--userland-proxy=false` mode. We chose it over a userland
// proxy because a proxy is a long-lived process per published port (in Node,
// tens of MiB each), has to be supervised and reaped on SIGKILL, and hides the
// client's address; with route_localnet, removing the rules is the whole
// cleanup. The known risk of route_localnet (CVE-2020-8558: a neighbour on
// that interface sending to 127.0.0.1 reaches host services bound to
// loopback) is closed by the `guard` chain, which drops anything arriving
// from the bridge addressed to 127.0.0.0/8 before routing sees it (priority
// -150: after conntrack, before NAT, so replies to masqueraded connections,
// still addressed to the gateway at that point, are not affected).
//
// IPv4 only for now.
import { TsrunError } from '../errors.js';
import type { Locker } from '../util/lock.js';
import type { NetworkRecord } from './config.js';
import { hostTools, type NetTools } from './exec.js';
import { parseIpv4 } from './ipv4.js';

export const DEFAULT_TABLE = 'tsrun';

export type Protocol = 'tcp' | 'udp';

export interface PortMapping {
  /** '0.0.0.0' for every local address. */
  hostIp: string;
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
}

export interface PublishedPort extends PortMapping {
  containerId: string;
  containerIp: string;
}

export interface Nat {
  /** The table, its chains and the fixed rules; net.ipv4.ip_forward=1. Idempotent. */
  ensureBase(): Promise<void>;
  /** Masquerade/forward/guard rules of one network (replacing any earlier ones), route_localnet on its bridge. The bridge must exist. */
  ensureNetwork(net: NetworkRecord): Promise<void>;
  removeNetwork(net: NetworkRecord): Promise<void>;
  /** Whether the network's rules are in place (its bridge is in the set; a flushed ruleset or a reboot loses them). */
  hasNetwork(net: NetworkRecord): Promise<boolean>;
  /** DNAT rules for a container's published ports. Fails, adding none, if a host port is already published. */
  addPorts(containerId: string, containerIp: string, ports: PortMapping[]): Promise<void>;
  /** Removes the container's DNAT rules; returns how many. Idempotent. */
  removePorts(containerId: string): Promise<number>;
  /** Published ports, from the rules themselves (what `tsrun port` shows). */
  listPorts(containerId?: string): Promise<PublishedPort[]>;
  /** Deletes the whole table. */
  removeAll(): Promise<void>;
  readonly table: string;
}

interface RuleRef {
  chain: string;
  handle: number;
  comment: string;
  expr: unknown[];
}

const quote = (s: string) => {
  if (!/^[A-Za-z0-9_.:\- ]*$/.test(s)) throw new TsrunError('INVALID_ARGUMENT', `unsafe text for an nft rule: ${JSON.stringify(s)}`);
  return `"${s}"`;
};

export function natManager(opts: { table?: string; tools?: NetTools; lock?: Locker; lockPath?: string } = {}): Nat {
  const table = opts.table ?? DEFAULT_TABLE;
  if (!/^[A-Za-z][A-Za-z0-9_]{0,30}$/.test(table)) throw new TsrunError('INVALID_ARGUMENT', `invalid nft table name ${table}`);
  const tools = opts.tools ?? hostTools;
  const T = `ip ${table}`;
  const locked = <R>(fn: () => Promise<R>): Promise<R> => (opts.lock && opts.lockPath ? opts.lock(opts.lockPath, fn) : fn());

  async function rules(): Promise<RuleRef[]> {
    const j = await tools.nftJson(['list', 'table', 'ip', table]);
    if (!j) return [];
    return j.nftables
      .filter((o) => o.rule)
      .map((o) => ({ chain: o.rule.chain as string, handle: o.rule.handle as number, comment: (o.rule.comment as string | undefined) ?? '', expr: o.rule.expr as unknown[] }));
  }

  /** Deletes the rules whose comment `match`es and adds `add` in one transaction; retries if a rule vanished meanwhile. */
  async function replace(match: (comment: string) => boolean, add: string[]): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      const old = (await rules()).filter((r) => match(r.comment));
      const script = [...old.map((r) => `delete rule ${T} ${r.chain} handle ${r.handle}`), ...add].join('\n');
      if (script === '') return 0;
      try {
        await tools.nftScript(script + '\n');
        return old.length;
      } catch (err) {
        if (attempt >= 2) throw err;
      }
    }
  }

  const ensureBase = async () => {
    await tools.nftScript(
      [
        `add table ${T}`,
        `add chain ${T} prerouting { type nat hook prerouting priority -100; policy accept; }`,
        `add chain ${T} output { type nat hook output priority -100; policy accept; }`,
        `add chain ${T} postrouting { type nat hook postrouting priority 100; policy accept; }`,
        `add chain ${T} forward { type filter hook forward priority 0; policy accept; }`,
        `add chain ${T} guard { type filter hook prerouting priority -150; policy accept; }`,
        `add chain ${T} ports`,
        `add chain ${T} net-postrouting`,
        `add chain ${T} net-forward`,
        `add chain ${T} net-guard`,
        `add set ${T} bridges { type ifname; }`,
        ...['prerouting', 'output', 'postrouting', 'forward', 'guard'].map((c) => `flush chain ${T} ${c}`),
        `add rule ${T} prerouting fib daddr type local jump ports`,
        `add rule ${T} output fib daddr type local jump ports`,
        `add rule ${T} postrouting jump net-postrouting`,
        `add rule ${T} forward jump net-forward`,
        `add rule ${T} forward ct state established,related accept`,
        `add rule ${T} forward ct status dnat accept`,
        `add rule ${T} guard jump net-guard`,
      ].join('\n') + '\n',
    );
    // Containers on a bridge reach the outside only if the host routes
    // between the bridge and its uplink. ip_forward is host-wide and other
    // software (other runtimes, VPNs) may rely on it too, so, like Docker and
    // Podman, we set it and never turn it back off on teardown.
    if ((await tools.readSysctl('net.ipv4.ip_forward')) !== '1') await tools.writeSysctl('net.ipv4.ip_forward', '1');
  };

  return {
    table,
    ensureBase,
    ensureNetwork: (net) =>
      locked(async () => {
        await ensureBase();
        // Tagged by bridge device, which is unique on the host, unlike a
        // network name (every --root has its own `bridge` network).
        const tag = quote(`net ${net.Bridge}`);
        const br = quote(net.Bridge);
        const add: string[] = [];
        if (net.Internal) {
          add.push(`add rule ${T} net-forward iifname ${br} oifname != ${br} drop comment ${tag}`);
          add.push(`add rule ${T} net-forward oifname ${br} iifname != ${br} drop comment ${tag}`);
        } else {
          add.push(`add rule ${T} net-postrouting ip saddr ${net.Subnet} oifname != ${br} masquerade comment ${tag}`);
          add.push(`add rule ${T} net-postrouting oifname ${br} ip saddr 127.0.0.0/8 masquerade comment ${tag}`);
          add.push(`add rule ${T} net-postrouting oifname ${br} ip saddr ${net.Subnet} ct status dnat masquerade comment ${tag}`);
          // Networks are isolated from each other, as Docker's are: nothing is
          // forwarded from this bridge to another tsrun bridge (the set
          // `bridges`) except to a port published on the host.
          add.push(`add rule ${T} net-forward iifname ${br} oifname @bridges oifname != ${br} ct status & dnat == 0 drop comment ${tag}`);
          add.push(`add rule ${T} net-forward iifname ${br} accept comment ${tag}`);
        }
        add.push(`add rule ${T} net-guard iifname ${br} ip daddr 127.0.0.0/8 drop comment ${tag}`);
        add.push(`add element ${T} bridges { ${br} }`);
        await replace((c) => c === `net ${net.Bridge}`, add);
        if (!net.Internal) await tools.writeSysctl(`net.ipv4.conf.${net.Bridge}.route_localnet`, '1');
      }),
    hasNetwork: async (net) => {
      const j = await tools.nftJson(['list', 'set', 'ip', table, 'bridges']);
      const elems = (j?.nftables.find((o) => o.set)?.set.elem ?? []) as unknown[];
      return elems.includes(net.Bridge);
    },
    removeNetwork: (net) =>
      locked(async () => {
        await replace((c) => c === `net ${net.Bridge}`, []);
        // Added first, so the delete cannot fail on an element that is not there.
        if (await tools.nftJson(['list', 'table', 'ip', table])) {
          await tools.nftScript(`add element ${T} bridges { ${quote(net.Bridge)} }\ndelete element ${T} bridges { ${quote(net.Bridge)} }\n`);
        }
      }),
    addPorts: (containerId, containerIp, ports) =>
      locked(async () => {
        if (!/^[0-9a-f]{1,64}$/.test(containerId)) throw new TsrunError('INVALID_ARGUMENT', `invalid container id ${containerId}`);
        if (parseIpv4(containerIp) === null) throw new TsrunError('INVALID_ARGUMENT', `invalid container address ${containerIp}`);
        if (ports.length === 0) return;
        await ensureBase();
        const existing = (await listFrom(await rules())).filter((p) => p.containerId !== containerId);
        const add: string[] = [];
        for (const p of ports) {
          if (parseIpv4(p.hostIp) === null) throw new TsrunError('INVALID_ARGUMENT', `invalid host address ${p.hostIp}`);
          if (!(p.hostPort >= 1 && p.hostPort <= 65535 && p.containerPort >= 1 && p.containerPort <= 65535)) throw new TsrunError('INVALID_ARGUMENT', `invalid port mapping ${p.hostPort}:${p.containerPort}`);
          const clash = existing.find((e) => e.protocol === p.protocol && e.hostPort === p.hostPort && (e.hostIp === p.hostIp || e.hostIp === '0.0.0.0' || p.hostIp === '0.0.0.0'));
          if (clash) throw new TsrunError('PORT_IN_USE', `host port ${p.hostIp}:${p.hostPort}/${p.protocol} is already published by container ${clash.containerId.slice(0, 12)}`);
          existing.push({ ...p, containerId, containerIp });
          const daddr = p.hostIp === '0.0.0.0' ? '' : `ip daddr ${p.hostIp} `;
          const tag = quote(`ctr ${containerId} ${p.protocol} ${p.hostIp} ${p.hostPort} ${p.containerPort}`);
          add.push(`add rule ${T} ports ${daddr}${p.protocol} dport ${p.hostPort} dnat to ${containerIp}:${p.containerPort} comment ${tag}`);
        }
        // Replacing the container's own earlier rules makes a retry idempotent.
        await replace((c) => c.startsWith(`ctr ${containerId} `), add);
      }),
    removePorts: (containerId) => locked(() => replace((c) => c.startsWith(`ctr ${containerId} `), [])),
    listPorts: async (containerId) => (await listFrom(await rules())).filter((p) => containerId === undefined || p.containerId === containerId),
    removeAll: () =>
      locked(async () => {
        if (await tools.nftJson(['list', 'table', 'ip', table])) await tools.nftScript(`delete table ${T}\n`);
      }),
  };
}

function listFrom(rs: RuleRef[]): PublishedPort[] {
  const out: PublishedPort[] = [];
  for (const r of rs) {
    const m = /^ctr ([0-9a-f]+) (tcp|udp) (\S+) (\d+) (\d+)$/.exec(r.comment);
    if (!m || r.chain !== 'ports') continue;
    const dnat = JSON.stringify(r.expr).match(/"dnat":\{"addr":"([\d.]+)"/);
    out.push({ containerId: m[1], protocol: m[2] as Protocol, hostIp: m[3], hostPort: Number(m[4]), containerPort: Number(m[5]), containerIp: dnat ? dnat[1] : '' });
  }
  return out;
}
