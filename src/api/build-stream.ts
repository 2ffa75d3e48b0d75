// A build's events as the classic builder's JSON stream, which is what the
// docker CLI 20.10 prints when the service offers no BuildKit:
//   {"stream":"Step 2/5 : RUN make\n"}
//   {"stream":"<the command's output>"}
//   {"stream":" ---> Using cache\n"}
//   {"aux":{"ID":"sha256:..."}}
//   {"stream":"Successfully built 0123456789ab\n"}
//   {"stream":"Successfully tagged app:latest\n"}
// Steps count as moby counts them, less the ARGs tsrun's builder does not
// show as steps: every FROM and instruction of the stages up to the target.
// tsrun keeps no intermediate images, so no " ---> <id>" lines.
import { displayName } from '../image/images.js';
import { parseDockerfile } from '../build/dockerfile/parser.js';
import type { BuildEvent } from '../build/builder.js';
import type { JsonMessageStream } from './image-progress.js';

/** The number of steps the Dockerfile shows: FROMs and instructions but ARGs, up to the target stage. */
export function stepCount(dockerfile: string, target?: string): number {
  const df = parseDockerfile(dockerfile);
  const last = target ? df.stages.findIndex((s) => new RegExp(`\\s+as\\s+${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'i').test(s.from.args)) : -1;
  const stages = last >= 0 ? df.stages.slice(0, last + 1) : df.stages;
  return stages.reduce((n, s) => n + 1 + s.instructions.filter((i) => i.cmd !== 'ARG').length, 0);
}

export function buildMessages(out: Pick<JsonMessageStream, 'send'>, total: number): (e: BuildEvent) => void {
  let step = 0;
  // Output is passed on as it comes; the step line after it must start on a line of its own.
  let midLine = false;
  const stream = (text: string): void => {
    if (!text) return;
    out.send({ stream: text });
    midLine = !text.endsWith('\n');
  };
  const line = (text: string): void => stream(`${midLine ? '\n' : ''}${text}\n`);
  return (e) => {
    switch (e.type) {
      case 'step': {
        // `[stage-0 2/5] RUN make`: the instruction as written; `exporting to image` is no Dockerfile step.
        const m = /^\[[^\]]*\] (.*)$/s.exec(e.title);
        if (m) line(`Step ${++step}/${Math.max(total, step)} : ${m[1]}`);
        return;
      }
      case 'output':
        return stream(e.data.toString('utf8'));
      case 'cached':
        return line(' ---> Using cache');
      case 'warning':
        return line(`[Warning] ${e.message}`);
      case 'image':
        out.send({ aux: { ID: e.id } });
        line(`Successfully built ${e.id.replace(/^sha256:/, '').slice(0, 12)}`);
        for (const n of e.names) line(`Successfully tagged ${displayName(n)}`);
        return;
      default:
        return;
    }
  };
}
