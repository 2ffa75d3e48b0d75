// `tsrun healthcheck run CONTAINER`: runs the container's health check once,
// records the result, prints the resulting health and exits 0 when the
// check passed, 1 when it failed (Podman's verb; the monitor runs it on the
// container's schedule). Errors (no check, not running) exit 125.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { out } from '../write.js';

export function registerHealthcheck(program: Command): void {
  program
    .command('healthcheck')
    .description('run container health checks')
    .command('run')
    .description("run a container's health check now and record the result")
    .argument('<container>')
    .action(async (ref: string, _flags: unknown, cmd: Command) => {
      try {
        const tsrun = await tsrunFor(cmd);
        const { runHealthcheck } = await import('../../health/run.js');
        const r = await runHealthcheck(tsrun.containers, tsrun.native, await tsrun.containers.resolve(ref), tsrun.root);
        out(`${r.status}\n`);
        process.exitCode = r.passed ? 0 : 1;
      } catch (err) {
        const { reportError } = await import('../errors.js');
        process.exitCode = reportError(err, 125);
      }
    });
}
