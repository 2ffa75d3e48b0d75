// testcontainers for Node (issue 15), as a CI job uses it: DOCKER_HOST at
// the tsrun service, Ryuk (its reaper container) disabled, a container
// started with a published port and a wait strategy, then stopped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBusybox, loopbackGet, startService, type ApiService } from '../helpers/api-service.js';
import { integrationSkipReason, sandbox, type Sandbox } from '../helpers/tsrun.js';

const skip = integrationSkipReason('api-testcontainers');

describe.skipIf(skip)('testcontainers (Node) against the tsrun service', () => {
  let sb: Sandbox;
  let svc: ApiService;
  beforeAll(async () => {
    sb = sandbox();
    await importBusybox(sb);
    svc = await startService(sb);
    // testcontainers reads these when it first looks for a container runtime.
    process.env.DOCKER_HOST = svc.host;
    process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
    process.env.TESTCONTAINERS_HOST_OVERRIDE = '127.0.0.1';
  }, 60_000);
  afterAll(async () => {
    await svc?.stop();
    sb?.cleanup();
  });

  it('starts a container with a published port, waits for it to listen, serves, and stops it', async () => {
    const { GenericContainer, Wait } = await import('testcontainers');
    const container = await new GenericContainer('localhost/busybox:latest')
      .withCommand(['sh', '-c', 'mkdir -p /www && echo served-by-tsrun > /www/index.html && exec httpd -f -p 8080 -h /www'])
      .withExposedPorts(8080)
      .withLabels({ 'test.suite': 'testcontainers' })
      .withWaitStrategy(Wait.forListeningPorts())
      .start();
    try {
      const port = container.getMappedPort(8080);
      expect(port).toBeGreaterThan(0);
      expect((await loopbackGet(port, '/index.html')).trim()).toBe('served-by-tsrun');
      const { output, exitCode } = await container.exec(['cat', '/www/index.html']);
      expect(exitCode).toBe(0);
      expect(output.trim()).toBe('served-by-tsrun');
      const ps = await sb.tsrun(['ps', '--filter', 'label=test.suite=testcontainers', '-q']);
      expect(ps.stdout.trim()).toHaveLength(12);
    } finally {
      await container.stop();
    }
    // stop() removes it (testcontainers' default), through the API.
    expect((await sb.tsrun(['ps', '-a', '--filter', 'label=test.suite=testcontainers', '-q'])).stdout).toBe('');
  }, 90_000);
});
