// docker-py (Debian's python3-docker) against the tsrun service: the pytest
// cases in test/api-python, run with DOCKER_HOST at a fresh service.
import { execa } from 'execa';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox, startService, type ApiService } from '../helpers/api-service.js';
import { integrationSkipReason, repo, sandbox, type Sandbox } from '../helpers/tsrun.js';
import { spawnSync } from 'node:child_process';

function skipReason(): string {
  const reason = integrationSkipReason('api-docker-py');
  if (reason) return reason;
  const py = spawnSync('python3', ['-c', 'import docker, pytest'], { stdio: 'ignore' });
  if (py.status === 0) return '';
  process.stderr.write('[skip] api-docker-py: python3 with docker and pytest not found (apt-get install python3-docker python3-pytest)\n');
  return 'no python3-docker/pytest';
}
const skip = skipReason();

describe.skipIf(skip)('docker-py against the tsrun service', () => {
  let sb: Sandbox;
  let svc: ApiService;
  beforeAll(async () => {
    sb = sandbox();
    await importBusybox(sb);
    svc = await startService(sb);
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    sb?.cleanup();
  });

  it('passes the SDK cases: containers, exec, images, build, networks, volumes', async () => {
    const r = await execa('python3', ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', join(repo, 'test/api-python')], {
      reject: false,
      env: { ...svc.env, PYTHONDONTWRITEBYTECODE: '1' },
      all: true,
    });
    expect(r.exitCode, r.all).toBe(0);
    expect(r.all).toMatch(/\b7 passed\b/);
    // Nothing the cases made is left.
    expect((await sb.tsrun(['ps', '-a', '-q'])).stdout).toBe('');
    expect((await sb.tsrun(['volume', 'ls', '-q'])).stdout).toBe('');
  }, 180_000);
});
