// `tsrun cp [-aLq] CONTAINER:SRC_PATH DEST_PATH|-` and
// `tsrun cp [-aLq] SRC_PATH|- CONTAINER:DEST_PATH` (also `container cp`):
// Docker's docker cp, over src/copy/.
import type { Command } from 'commander';
import { TsrunError } from '../../errors.js';
import { tsrunFor } from '../context.js';
import { writeFd } from '../write.js';

interface CpFlags {
  archive?: boolean;
  followLink?: boolean;
  quiet?: boolean;
}

/** Declares `cp` on `parent` (the program, or the `container` group). */
export function addCp(parent: Command): void {
  parent
    .command('cp')
    .description('copy files/folders between a container and the local filesystem')
    .usage(`[options] CONTAINER:SRC_PATH DEST_PATH|-\n       ${parent.parent ? `tsrun ${parent.name()}` : 'tsrun'} cp [options] SRC_PATH|- CONTAINER:DEST_PATH`)
    .argument('<src>')
    .argument('<dest>')
    .option('-a, --archive', 'archive mode (copy all uid/gid information)')
    .option('-L, --follow-link', 'always follow symbol link in SRC_PATH')
    .option('-q, --quiet', 'suppress progress output during copy (suppressed anyway when stdout is not a terminal)')
    .action(async (src: string, dest: string, flags: CpFlags, cmd: Command) => {
      const [copy, paths] = await Promise.all([import('../../copy/copy.js'), import('../../copy/paths.js')]);
      if (src === '') throw new TsrunError('INVALID_ARGUMENT', 'source can not be empty');
      if (dest === '') throw new TsrunError('INVALID_ARGUMENT', 'destination can not be empty');
      const from = paths.splitCpArg(src);
      const to = paths.splitCpArg(dest);
      if (from.container !== undefined && to.container !== undefined) throw new TsrunError('INVALID_ARGUMENT', 'copying between containers is not supported');
      if (from.container === undefined && to.container === undefined) throw new TsrunError('INVALID_ARGUMENT', 'must specify at least one container source');
      const tsrun = await tsrunFor(cmd);
      const deps = { containers: tsrun.containers, images: tsrun.images, native: tsrun.native };
      const opts = { archive: flags.archive, followLink: flags.followLink };
      let r;
      if (from.container !== undefined) {
        if (to.path === '-') {
          await copy.archiveFromContainer(deps, from.container, from.path, process.stdout, opts);
          return;
        }
        r = await copy.copyFromContainer(deps, from.container, from.path, to.path, opts);
      } else if (from.path === '-') {
        r = await copy.extractToContainer(deps, process.stdin, to.container!, to.path, opts);
      } else {
        r = await copy.copyToContainer(deps, from.path, to.container!, to.path, opts);
      }
      // Docker: the summary goes to stderr unless -q or stdout is not a terminal.
      if (!flags.quiet && (await import('node:tty')).isatty(1)) writeFd(2, `${paths.copySummary(r.contentSize, r.transferred, r.dest)}\n`);
    });
}

export function registerCp(program: Command): void {
  addCp(program);
}
