// The peer sections of /etc/hosts on user-defined networks.
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { peersOf, updateHostsFile, withPeerSection } from '../../src/network/peers.js';

const base = '127.0.0.1\tlocalhost\n10.89.0.2\tweb\n';

describe('peer sections', () => {
  it('lists everyone else on the network with names, in address order', () => {
    const leases = {
      '10.89.0.10': { ContainerId: 'c', Names: ['gamma', 'cccccccccccc'], Created: '' },
      '10.89.0.2': { ContainerId: 'a', Names: ['web'], Created: '' },
      '10.89.0.9': { ContainerId: 'b', Names: ['db', 'bbbbbbbbbbbb', 'database'], Created: '' },
      '10.89.0.11': { ContainerId: 'd', Created: '' }, // no names: the default bridge's kind
    };
    expect(peersOf(leases, 'a')).toEqual([
      { ip: '10.89.0.9', names: ['db', 'bbbbbbbbbbbb', 'database'] },
      { ip: '10.89.0.10', names: ['gamma', 'cccccccccccc'] },
    ]);
  });

  it('adds, replaces and removes one network\'s section, keeping the rest (and other networks\') as they are', () => {
    const one = withPeerSection(base, 'front', [{ ip: '10.89.0.3', names: ['db'] }]);
    expect(one).toBe(`${base}# tsrun network front: peers\n10.89.0.3\tdb\n# end tsrun network front\n`);
    const two = withPeerSection(one, 'back', []);
    const replaced = withPeerSection(two, 'front', [{ ip: '10.89.0.4', names: ['cache', 'c1'] }]);
    expect(replaced).toContain('# tsrun network back: peers\n# end tsrun network back\n');
    expect(replaced).toContain('10.89.0.4\tcache c1\n');
    expect(replaced).not.toContain('10.89.0.3');
    expect(withPeerSection(withPeerSection(replaced, 'front', null), 'back', null)).toBe(base);
  });

  it('rewrites the file in place (a bind mount holds its inode); a missing file is no error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-peers-'));
    try {
      const f = join(dir, 'hosts');
      writeFileSync(f, base);
      const ino = statSync(f).ino;
      await updateHostsFile(f, 'front', [{ ip: '10.89.0.3', names: ['db'] }]);
      expect(statSync(f).ino).toBe(ino);
      expect(readFileSync(f, 'utf8')).toContain('10.89.0.3\tdb');
      await updateHostsFile(f, 'front', null);
      expect(readFileSync(f, 'utf8')).toBe(base);
      expect(statSync(f).ino).toBe(ino);
      await expect(updateHostsFile(join(dir, 'gone'), 'front', [])).resolves.toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
