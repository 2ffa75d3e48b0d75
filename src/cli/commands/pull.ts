// `tsrun pull [-q] [--platform P] IMAGE`: Docker's progress output, then the
// digest, the status and the full name.
import type { Command } from 'commander';
import { tsrunFor } from '../context.js';
import { out } from '../write.js';

export function registerPull(parent: Command): void {
  parent
    .command('pull')
    .description('download an image from a registry')
    .argument('<image>', 'NAME[:TAG|@DIGEST]')
    .option('-q, --quiet', 'print only the image name')
    .option('--platform <os/arch[/variant]>', 'the platform to pull from a multi-platform image')
    .action(async (reference: string, flags: { quiet?: boolean; platform?: string }, cmd: Command) => {
      const { parsePlatform } = await import('../../image/platform.js');
      const { parseReference, formatReference } = await import('../../image/reference.js');
      const { pullReporter } = await import('../pull-progress.js');
      const { displayName } = await import('../../image/images.js');
      const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
      const ref = parseReference(reference);
      const tsrun = await tsrunFor(cmd);
      const onEvent = flags.quiet ? undefined : pullReporter(process.stdout);
      const { image, downloaded } = await tsrun.images.pull(reference, { platform, onEvent });
      const full = formatReference(ref);
      if (!flags.quiet) {
        const digest = image.repoDigests.find((d) => full.startsWith(d.slice(0, d.lastIndexOf('@'))))?.split('@')[1] ?? image.manifestDigest;
        out(`Digest: ${digest}\n`);
        out(`Status: ${downloaded ? 'Downloaded newer image' : 'Image is up to date'} for ${displayName(full)}\n`);
      }
      out(`${full}\n`);
    });
}
