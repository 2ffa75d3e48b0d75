// The typed in-process API's cost per container: in one Node process,
// create + start + waitStopped + remove of `IMAGE true` (--network none),
// COUNT times one after another through dist/index.js (what users import),
// after one untimed warm-up. Prints "MEDIAN_MS MEAN_MS" per container.
//
//   node bench/api-run.mjs ROOT RUNROOT IMAGE COUNT      (bench/verbs.sh runs it)
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const [root, runroot, image, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!root || !runroot || !image || !(count > 0)) {
  console.error('usage: node bench/api-run.mjs ROOT RUNROOT IMAGE COUNT');
  process.exit(2);
}
const { Tsrun } = await import(fileURLToPath(new URL('../dist/index.js', import.meta.url)));
const { containers } = new Tsrun({ root, runroot });

async function once() {
  const c = await containers.create({ image, command: ['true'], network: 'none' });
  try {
    await containers.start(c.id);
    const v = await containers.waitStopped(c.id);
    if (v?.status !== 'exited' || v.exitCode !== 0) throw new Error(`container ${c.id} ended ${v?.status} with ${v?.exitCode}`);
  } finally {
    await containers.remove(c.id, true);
  }
}

await once();
const ms = [];
for (let i = 0; i < count; i++) {
  const t0 = performance.now();
  await once();
  ms.push(performance.now() - t0);
}
ms.sort((a, b) => a - b);
const median = count % 2 ? ms[(count - 1) / 2] : (ms[count / 2 - 1] + ms[count / 2]) / 2;
const mean = ms.reduce((a, b) => a + b, 0) / count;
console.log(median.toFixed(1), mean.toFixed(1));
