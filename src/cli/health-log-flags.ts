// run/create's health check and logging flags, declared for commander
// (flags/health-log.ts turns them into the request's fields).
import type { Command } from 'commander';
import { collect } from './options.js';

export function addHealthLogOptions(cmd: Command): Command {
  return cmd
    .option('--health-cmd <command>', 'command to run to check health (run by /bin/sh -c in the container)')
    .option('--health-interval <duration>', 'time between running the check (ms|s|m|h) (default 30s)')
    .option('--health-timeout <duration>', 'maximum time to allow one check to run (ms|s|m|h) (default 30s)')
    .option('--health-retries <n>', 'consecutive failures needed to report unhealthy (default 3)')
    .option('--health-start-period <duration>', 'start period for the container to initialize before failures count (ms|s|m|h) (default 0s)')
    .option('--health-start-interval <duration>', 'time between running the check during the start period (ms|s|m|h) (default 5s)')
    .option('--no-healthcheck', "disable any container-specified HEALTHCHECK")
    .option('--log-driver <driver>', 'logging driver: json-file (default) or none')
    .option('--log-opt <key=value>', 'log driver option: max-size=10m, max-file=3, compress=true (repeatable)', collect);
}
