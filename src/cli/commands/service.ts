// `tsrun system service [--time S] [ADDRESS]`: the Docker Engine API on a
// socket (Podman's `system service`), over the same core as every verb.
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { preloadChunks } from '../bundle-chunks.js';
import { tsrunFor } from '../context.js';
import { envList, globalOptions } from '../options.js';

interface ServiceFlags { time: number; tlsCert?: string; tlsKey?: string; tlsClientCa?: string }

export function addService(system: Command): void {
  system
    .command('service')
    .description('serve the Docker Engine API (for the docker CLI, docker-compose, SDKs) on a unix socket')
    .argument('[address]', 'unix:///path/to/socket (default unix:///run/tsrun/tsrun.sock) or tcp://HOST:PORT (mutual TLS only)')
    .option('-t, --time <seconds>', 'exit after this many seconds without a connection (0: never)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('a whole number of seconds');
      return n;
    }, 5)
    .option('--tls-cert <file>', "the service's TLS certificate (TCP)")
    .option('--tls-key <file>', "the service's TLS key (TCP)")
    .option('--tls-client-ca <file>', 'the CA that signs client certificates (TCP: clients must present one)')
    .action(async (address: string | undefined, flags: ServiceFlags, cmd: Command) => {
      const { TsrunError } = await import('../../errors.js');
      const tls = [flags.tlsCert, flags.tlsKey, flags.tlsClientCa];
      if (tls.some(Boolean) && !tls.every(Boolean)) throw new TsrunError('INVALID_ARGUMENT', '--tls-cert, --tls-key and --tls-client-ca go together');
      // Every chunk of the bundle compiled now: an upgrade while the service
      // runs must not mix two builds' modules.
      preloadChunks();
      const { serve } = await import('../../api/service.js');
      const { registryMirror, insecureRegistry, usernsRemap } = globalOptions(cmd);
      const service = await serve(await tsrunFor(cmd), {
        address,
        idleSeconds: flags.time,
        tls: flags.tlsCert ? { cert: flags.tlsCert, key: flags.tlsKey!, clientCa: flags.tlsClientCa! } : undefined,
        listenFds: socketActivation(),
        infoOptions: {
          registryMirrors: registryMirror?.length ? registryMirror : envList(process.env.TSRUN_REGISTRY_MIRROR),
          insecureRegistries: [...envList(process.env.TSRUN_INSECURE_REGISTRIES), ...(insecureRegistry ?? [])],
          usernsRemap,
        },
        log: (line) => process.stderr.write(`${line}\n`),
      });
      const stop = (): void => void service.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await service.closed;
    });
}

// systemd's socket activation: LISTEN_PID is us, LISTEN_FDS sockets from fd 3 on.
function socketActivation(): number[] | undefined {
  if (process.env.LISTEN_PID !== String(process.pid)) return undefined;
  const n = Number(process.env.LISTEN_FDS ?? 0);
  delete process.env.LISTEN_PID;
  delete process.env.LISTEN_FDS;
  delete process.env.LISTEN_FDNAMES;
  return n > 0 ? Array.from({ length: n }, (_, i) => 3 + i) : undefined;
}
