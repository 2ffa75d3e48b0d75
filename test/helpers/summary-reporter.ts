// Ends every run with the plain closing line CI reads:
// "N passed, N failed, N skipped". It prints from onFinished, which vitest
// calls after the default reporter's summary; unhandled errors and files
// that failed to load count as failures.
import type { Reporter } from 'vitest/node';

interface Task {
  type: string;
  mode?: string;
  result?: { state?: string };
  tasks?: Task[];
}

function count(tasks: Task[], acc: { passed: number; failed: number; skipped: number }): void {
  for (const t of tasks) {
    if (t.tasks) count(t.tasks, acc);
    if (t.type !== 'test') continue;
    const s = t.result?.state;
    if (s === 'pass') acc.passed++;
    else if (s === 'fail') acc.failed++;
    else acc.skipped++;
  }
}

export default class SummaryReporter implements Reporter {
  onFinished(files: Task[] = [], errors: unknown[] = []): void {
    const acc = { passed: 0, failed: errors.length, skipped: 0 };
    for (const f of files) {
      if (f.result?.state === 'fail' && !(f.tasks ?? []).length) acc.failed++;
      count(f.tasks ?? [], acc);
    }
    process.stdout.write(`\n${acc.passed} passed, ${acc.failed} failed, ${acc.skipped} skipped\n`);
  }
}
