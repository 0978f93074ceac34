import { describe, expect, it } from 'vitest';
import {
  buildContainer,
  ConfigError,
  EventBus,
  EventQueue,
  hostConfigFromObject,
  parseHostConfig,
  resolve,
  SimClock,
  StatGroup,
  TOKENS,
} from '../src/index.js';
import { container as rootContainer } from 'tsyringe';
import { GREETER, SHOUTER, testRegistry } from './fixtures.js';

const registry = testRegistry();

describe('the composition root', () => {
  it('registers the config, bus, clock, event queue, stats, rng and costs in a child container', () => {
    const cfg = parseHostConfig('seed: 5\ncpu: { freqMHz: 500 }\n', registry);
    const c = buildContainer(cfg, registry);
    expect(resolve(c, TOKENS.HostConfig)).toEqual(cfg);
    expect(resolve(c, TOKENS.Bus)).toBeInstanceOf(EventBus);
    expect(resolve(c, TOKENS.Clock)).toBeInstanceOf(SimClock);
    expect(resolve(c, TOKENS.Clock).freqMHz).toBe(500);
    expect(resolve(c, TOKENS.EventQueue)).toBeInstanceOf(EventQueue);
    expect(resolve(c, TOKENS.EventQueue).clock).toBe(resolve(c, TOKENS.Clock));
    expect(resolve(c, TOKENS.Stats)).toBeInstanceOf(StatGroup);
    expect(resolve(c, TOKENS.Rng).seed).toBe(5);
    expect(resolve(c, TOKENS.Costs)).toEqual({});
    expect(rootContainer.isRegistered(TOKENS.Bus)).toBe(false);
  });

  it('swaps the variant of a component by changing one line of config', () => {
    const polite = buildContainer(parseHostConfig('components:\n  greeter: { variant: polite, punctuation: "!" }\n', registry), registry);
    const terse = buildContainer(parseHostConfig('components:\n  greeter: { variant: terse }\ncosts: {}\n', registry), registry);
    expect(resolve(polite, GREETER).greet('dom0')).toBe('Hello, dom0!');
    expect(resolve(terse, GREETER).greet('dom0')).toBe('hi dom0 (0)');
  });

  it('resolves a plugin that requires another through the same container', () => {
    const c = buildContainer(parseHostConfig('components:\n  shouter: loud\n  greeter: { variant: polite, repeat: 2 }\ncosts: { greeter.greet: 3 }\n', registry), registry);
    expect(resolve(c, SHOUTER).shout('x')).toBe('HELLO, X.HELLO, X.!');
    expect(resolve(c, TOKENS.Costs)).toEqual({ 'greeter.greet': 3 });
  });

  it('keeps each host separate: singletons are per container', () => {
    const cfg = parseHostConfig('components: { greeter: polite }\n', registry);
    const a = buildContainer(cfg, registry);
    const b = buildContainer(cfg, registry);
    expect(resolve(a, GREETER)).toBe(resolve(a, GREETER));
    expect(resolve(a, GREETER)).not.toBe(resolve(b, GREETER));
    expect(resolve(a, TOKENS.Stats)).not.toBe(resolve(b, TOKENS.Stats));
  });

  it('validates a hand-written config object too', () => {
    const bad = { seed: 1, cpu: { freqMHz: 1000 }, pcpus: 1, memoryMiB: 1, components: { greeter: { variant: 'rude' } }, costs: {} };
    expect(() => buildContainer(bad, registry)).toThrow(ConfigError);
    expect(() => buildContainer(bad, registry)).toThrow("components.greeter.variant: unknown variant 'rude' of component 'greeter' (allowed: polite, terse)");
  });

  it('refuses a required token that no selected component provides', () => {
    expect(() => hostConfigFromObject({ components: { auditor: 'strict' } }, registry)).toThrow(
      'components.auditor: auditor/strict requires test.Logger, which no selected component provides; select one of (allowed: liar: v1)',
    );
  });

  it('fails loudly when a plugin does not bind a token it declares', () => {
    const cfg = hostConfigFromObject({ components: { liar: 'v1', auditor: 'strict' } }, registry);
    expect(() => buildContainer(cfg, registry)).toThrow('plugin liar/v1 declares that it provides test.Logger but register() did not bind it');
  });
});
