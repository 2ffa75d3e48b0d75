// `tsrun login [-u USER] [-p PASS | --password-stdin] [SERVER]` and
// `tsrun logout [SERVER]`: credentials in Docker's config.json format
// (TSRUN_AUTH_FILE or ~/.config/tsrun/auth.json; pulls also read
// ~/.docker/config.json).
import type { Command } from 'commander';
import { authFiles } from '../context.js';
import { globalOptions } from '../options.js';
import { out } from '../write.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

export function registerLogin(program: Command): void {
  program
    .command('login')
    .description('log in to a registry (default: Docker Hub)')
    .argument('[server]')
    .option('-u, --username <user>')
    .option('-p, --password <password>', 'password (visible to other users in ps: prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (server: string | undefined, flags: { username?: string; password?: string; passwordStdin?: boolean }, cmd: Command) => {
      const { TsrunError } = await import('../../errors.js');
      const { loginDomain, verifyLogin } = await import('../../image/registry/login.js');
      const { DockerConfigCredentials } = await import('../../image/registry/credentials.js');
      const domain = loginDomain(server);
      if (flags.password !== undefined && flags.passwordStdin) throw new TsrunError('INVALID_ARGUMENT', '--password and --password-stdin are mutually exclusive');
      if (!flags.username) throw new TsrunError('INVALID_ARGUMENT', 'a user name is needed: -u USER');
      const password = flags.passwordStdin ? await readStdin() : flags.password;
      if (!password) throw new TsrunError('INVALID_ARGUMENT', 'a password is needed: -p PASSWORD or --password-stdin');
      const { insecureRegistry } = globalOptions(cmd);
      const { envList } = await import('../options.js');
      await verifyLogin(domain, { username: flags.username, password }, { insecure: [...envList(process.env.TSRUN_INSECURE_REGISTRIES), ...(insecureRegistry ?? [])] });
      // Writes the first file; all are read, so a credsStore/credHelpers in Docker's config.json keeps the secret in its helper.
      await new DockerConfigCredentials({ readPaths: await authFiles() }).login(domain, flags.username, password);
      out('Login Succeeded\n');
    });
  program
    .command('logout')
    .description('remove the stored credentials for a registry (default: Docker Hub)')
    .argument('[server]')
    .action(async (server: string | undefined) => {
      const { loginDomain } = await import('../../image/registry/login.js');
      const { DockerConfigCredentials } = await import('../../image/registry/credentials.js');
      const domain = loginDomain(server);
      const removed = await new DockerConfigCredentials({ readPaths: await authFiles() }).logout(domain);
      out(removed ? `Removing login credentials for ${domain}\n` : `Not logged in to ${domain}\n`);
    });
}
