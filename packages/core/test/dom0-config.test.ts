import { describe, expect, it } from 'vitest';
import { ConfigError, PluginRegistry, parseHostConfig } from '@tachyxx/core';

const reg = new PluginRegistry([]);

describe('host config dom0 key', () => {
  it('takes memoryMiB and vcpus', () => {
    const c = parseHostConfig('memoryMiB: 1024\ndom0: { memoryMiB: 256, vcpus: 2 }\n', reg);
    expect(c.dom0).toEqual({ memoryMiB: 256, vcpus: 2 });
  });

  it('fills defaults and is absent when not given', () => {
    expect(parseHostConfig('memoryMiB: 1024\ndom0: {}\n', reg).dom0).toEqual({ memoryMiB: 256, vcpus: 1 });
    expect(parseHostConfig('pcpus: 2\n', reg).dom0).toBeUndefined();
  });

  it.each([
    ['dom0: 5\n', /dom0: expected a mapping/],
    ['dom0: { memory: 5 }\n', /dom0.memory: unknown key \(allowed: memoryMiB, vcpus\)/],
    ['memoryMiB: 256\ndom0: { memoryMiB: 256 }\n', /dom0.memoryMiB/],
    ['dom0: { vcpus: 0 }\n', /dom0.vcpus/],
  ])('rejects %j', (yaml, re) => {
    expect(() => parseHostConfig(yaml, reg, { file: 'h.yaml' })).toThrow(ConfigError);
    expect(() => parseHostConfig(yaml, reg, { file: 'h.yaml' })).toThrow(re);
  });
});
