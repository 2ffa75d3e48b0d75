// The OCI runtime-tools validation suite (runtime-spec v1.1.0) against runc
// and tsrun-oci, side by side: every case runc passes here, tsrun-oci must
// pass too (issue 12). The suite is built from its source tarball by
// scripts/runtime-tools.sh (cached, keyed by the tarball's sha256); runc's
// results are cached next to it, keyed by `runc --version`, so a run costs
// one pass of tsrun-oci over the files where runc passes at least one case
// (two at a time, the cgroup files one at a time: they share fixed cgroup
// paths).
//
// Optional dependency: without Go, make, runc or the tarball
// (TSRUN_RUNTIME_TOOLS_TARBALL, default ../shared/third_party/
// runtime-tools-260e151.tar.gz next to the repo) the file skips, saying why.
//
// One test per validation file; a failure names every case runc passes and
// tsrun-oci does not, with what tsrun-oci said.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildSuite,
  cachedRuntimeResult,
  DEFAULT_TARBALL,
  formatRegressions,
  formatTable,
  listTests,
  passedCases,
  regressions,
  runSuite,
  runtimeWrapper,
  suiteSkipReason,
  totals,
  tsrunOciCommand,
  type SuiteResult,
} from '../helpers/runtime-tools.js';
import { integrationSkipReason } from '../helpers/tsrun.js';

function skipReason(): string {
  const reason = integrationSkipReason('oci-validation');
  if (reason) return reason;
  const problems = [suiteSkipReason(DEFAULT_TARBALL)];
  if (spawnSync('sh', ['-c', 'command -v runc'], { stdio: 'ignore' }).status !== 0) problems.push('runc not found (apt-get install runc)');
  const missing = problems.filter(Boolean).join('; ');
  if (missing) process.stderr.write(`[skip] oci-validation: ${missing}\n`);
  return missing;
}

const skip = skipReason();
// Built while the file is collected (one test per validation file); a cached
// build is found in milliseconds, a first build takes a minute or two.
const suite = skip ? '' : buildSuite(DEFAULT_TARBALL);
// Skipped, one placeholder stands for the files (so the skip is counted).
const files = skip ? ['(every validation file)'] : listTests(suite);

describe.skipIf(skip)('OCI runtime-tools validation: tsrun-oci passes every case runc passes', () => {
  const work = skip ? '' : mkdtempSync(join(tmpdir(), 'tsrun-oci-validation-'));
  let runc: SuiteResult;
  let tsrun: SuiteResult;

  beforeAll(async () => {
    const runcRt = runtimeWrapper(work, 'runc', ['runc']);
    const tsrunRt = runtimeWrapper(work, 'tsrun-oci', tsrunOciCommand());
    // One runtime after the other (runc cached after its first run): their cgroup files share fixed paths.
    runc = await cachedRuntimeResult(suite, runcRt, ['--version']);
    // Only where runc passes something: elsewhere there is nothing to hold tsrun-oci to
    // (and linux_cgroups_network alone would cost tsrun-oci most of a minute).
    const relevant = runc.files.filter((f) => passedCases(f).length > 0).map((f) => f.file);
    tsrun = await runSuite(suite, tsrunRt, { jobs: 2, timeoutMs: 90_000, files: relevant });
    const r = totals(runc);
    const t = totals(tsrun);
    process.stderr.write(
      `[oci-validation] runc: ${r.ok} ok, ${r.notOk} not ok, ${r.filesPassing}/${r.files} files pass; ` +
        `tsrun-oci (on those ${t.files} files): ${t.ok} ok, ${t.notOk} not ok, ${t.filesPassing}/${t.files} files pass\n`,
    );
    if (regressions(runc, tsrun).length) process.stderr.write(`${formatTable([runc, tsrun])}\n`);
  }, 15 * 60_000);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it.each(files)('%s', (file) => {
    const only = (r: SuiteResult): SuiteResult => ({ ...r, files: r.files.filter((f) => f.file === file) });
    const regs = regressions(only(runc), only(tsrun));
    expect(regs.length, formatRegressions(only(runc), only(tsrun))).toBe(0);
  });
});
