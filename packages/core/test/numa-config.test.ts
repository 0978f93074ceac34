import { describe, it, expect } from 'vitest';
import { PluginRegistry, parseHostConfig, ConfigError } from '@tachyxx/core';

const reg = new PluginRegistry([]);

describe('host config numa key', () => {
  it('accepts nodes that partition memory and pCPUs, with distances', () => {
    const c = parseHostConfig('pcpus: 4\nmemoryMiB: 256\nnuma:\n  nodes: [{ memoryMiB: 128, pcpus: [0, 1] }, { memoryMiB: 128, pcpus: [2, 3] }]\n  distances: [[10, 20], [20, 10]]\n', reg);
    expect(c.numa?.nodes.map((n) => n.pcpus)).toEqual([[0, 1], [2, 3]]);
    expect(c.numa?.distances?.[0]).toEqual([10, 20]);
  });

  it('has no numa key when none is given (one node)', () => {
    expect(parseHostConfig('pcpus: 2\n', reg).numa).toBeUndefined();
  });

  it.each([
    ['numa: { nodes: [{ memoryMiB: 100, pcpus: [0] }] }\n', /node memory adds up to 100 MiB, but memoryMiB is 256/],
    ['pcpus: 2\nnuma: { nodes: [{ memoryMiB: 256, pcpus: [0] }] }\n', /every pCPU must be in one node \(1 of 2 are\)/],
    ['numa: { nodes: [{ memoryMiB: 256, pcpus: [3] }] }\n', /pCPU 3 does not exist/],
    ['numa: { nodes: [{ memoryMiB: 256, pcpus: [0], cores: 2 }] }\n', /numa\.nodes\.0\.cores: unknown key/],
    ['numa: { nodes: [{ memoryMiB: 256, pcpus: [0] }], distances: [[10, 20]] }\n', /1 x 1 matrix/],
    ['numa: { nodes: [] }\n', /list of 1\.\.64 nodes/],
  ])('rejects %j with a clear error', (yaml, msg) => {
    expect(() => parseHostConfig(yaml, reg, { file: 'host.yaml' })).toThrowError(ConfigError);
    expect(() => parseHostConfig(yaml, reg, { file: 'host.yaml' })).toThrowError(msg);
  });
});
