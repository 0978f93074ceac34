// The op table (src/ops/*) against the protocol's one list of ops (OP_ARGS): one handler per op,
// with that op's argument shape; the `hello` list keeps its order; names that are no op (an
// inherited property, the connection's own `detach`) are ENOSYS, never a handler.
import { describe, expect, it } from 'vitest';
import { OPS, OP_ARGS, OP_TABLE, ToolstackError } from '@tachyxx/toolstack';
import { makeToolstack, op } from './helpers.js';

describe('op table', () => {
  it('has exactly the ops of OP_ARGS, each entry with its name and argument shape', () => {
    expect(Object.keys(OP_TABLE).sort()).toEqual([...OPS].sort());
    expect([...OPS]).toEqual(Object.keys(OP_ARGS));
    for (const [name, e] of Object.entries(OP_TABLE)) {
      expect(e.name).toBe(name);
      expect(e.args).toBe(OP_ARGS[name as keyof typeof OP_ARGS]);
      expect(typeof e.run).toBe('function');
    }
  });

  it('hello lists the ops in the protocol order', async () => {
    const ts = makeToolstack();
    try {
      const h = await op<{ ops: string[] }>(ts, 'hello');
      expect(h.ops).toEqual([
        'hello', 'create', 'list', 'destroy', 'shutdown', 'reboot', 'pause', 'unpause', 'rename', 'domid', 'domname',
        'console', 'console-input', 'detach', 'events', 'vcpu-list', 'vcpu-pin', 'vcpu-set', 'mem-set', 'mem-max', 'info', 'dmesg',
        'uptime', 'sched-credit', 'cpupool-list', 'cpupool-create', 'cpupool-destroy', 'cpupool-cpu-add',
        'cpupool-cpu-remove', 'cpupool-migrate', 'cpupool-numa-split', 'top', 'host-counts', 'stats',
        'debug-attach', 'debug-detach', 'block-attach', 'block-list', 'block-detach',
        'network-list', 'network-attach', 'network-detach', 'pci-dump', 'pci-assignable-add', 'pci-assignable-remove', 'pci-assignable-list',
        'pci-attach', 'pci-detach', 'pci-list', 'pci-sriov-numvfs', 'pci-sriov-list', 'pci-sriov-vf',
      ]);
    } finally {
      ts.close();
    }
  });

  it('inherited property names and detach (the connection\'s op) are ENOSYS in-process', async () => {
    const ts = makeToolstack();
    try {
      for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'detach']) {
        const e = await op(ts, name, name === 'detach' ? { stream: 1 } : {}).then(() => null, (x: unknown) => x);
        expect(e, name).toBeInstanceOf(ToolstackError);
        expect((e as ToolstackError).code).toBe('ENOSYS');
        expect((e as ToolstackError).message).toMatch(new RegExp(`^unknown op '${name}' \\(known: hello, create,`));
      }
    } finally {
      ts.close();
    }
  });
});
