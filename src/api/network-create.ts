// POST /networks/create's body (Docker's NetworkCreateRequest, as the docker
// CLI 20.10, compose 1.29 and docker-py send it) → core's create options.
// What tsrun's bridge networks cannot be (IPv6, an IP range, swarm-scoped,
// another driver) is refused with the status Docker gives, never ignored.
import type { CreateNetworkOptions } from '../network/config.js';
import { ApiError, badRequest } from './errors.js';

export interface NetworkCreateBody {
  Name?: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Scope?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  ConfigOnly?: boolean;
  ConfigFrom?: { Network?: string } | null;
  EnableIPv6?: boolean;
  IPAM?: {
    Driver?: string;
    Options?: Record<string, string> | null;
    Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string; AuxiliaryAddresses?: Record<string, string> | null }> | null;
  } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

// Docker's own local drivers tsrun does not have: refused as unsupported, not as unknown plugins.
const LOCAL_DRIVERS = ['macvlan', 'ipvlan', 'host', 'null'];
const NOT_SWARM = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';

function checkDriver(driver: string): void {
  if (driver === '' || driver === 'bridge' || LOCAL_DRIVERS.includes(driver)) return; // the latter are core's to refuse
  // Docker: overlay needs a swarm manager (403); any other name is looked up as a plugin (404).
  if (driver === 'overlay') throw new ApiError(403, NOT_SWARM);
  throw new ApiError(404, `plugin ${JSON.stringify(driver)} not found`);
}

export function createNetworkOptions(b: NetworkCreateBody): CreateNetworkOptions & { driver?: string } {
  if (typeof b !== 'object' || b === null) throw badRequest('the request body must be a JSON object');
  if (!b.Name) throw badRequest('network name must be given (Name)');
  checkDriver(b.Driver ?? '');
  if (b.Scope && b.Scope !== 'local') throw badRequest(`network scope ${JSON.stringify(b.Scope)} is not supported by tsrun: only local`);
  if (b.Ingress) throw new ApiError(403, NOT_SWARM);
  if (b.ConfigOnly || b.ConfigFrom?.Network) throw badRequest('config-only networks (ConfigOnly, ConfigFrom) are not supported by tsrun');
  if (b.EnableIPv6) throw badRequest('IPv6 networks are not supported by tsrun');
  const ipam = b.IPAM ?? {};
  if (ipam.Driver && ipam.Driver !== 'default') throw badRequest(`IPAM driver ${JSON.stringify(ipam.Driver)} is not supported by tsrun: only default`);
  if (ipam.Options && Object.keys(ipam.Options).length) throw badRequest('IPAM options are not supported by tsrun');
  const configs = ipam.Config ?? [];
  if (configs.some((c) => c.Subnet?.includes(':'))) throw badRequest('IPv6 subnets are not supported by tsrun');
  if (configs.length > 1) throw badRequest('tsrun networks have one IPv4 subnet: give at most one IPAM config');
  const cfg = configs[0] ?? {};
  if (cfg.IPRange && cfg.IPRange !== cfg.Subnet) throw badRequest('IP ranges are not supported by tsrun: addresses are given out from the whole subnet');
  if (cfg.AuxiliaryAddresses && Object.keys(cfg.AuxiliaryAddresses).length) throw badRequest('auxiliary addresses are not supported by tsrun');
  return {
    name: b.Name,
    driver: b.Driver || 'bridge',
    subnet: cfg.Subnet || undefined,
    gateway: cfg.Gateway || undefined,
    internal: !!b.Internal,
    attachable: !!b.Attachable,
    labels: b.Labels ?? {},
    options: b.Options ?? {},
  };
}
