import { componentCosts, defineToken, definePlugin, bindSingleton, resolve, p, PluginRegistry, TOKENS } from '../src/index.js';

/** A fake component 'greeter' with two variants, and a 'shouter' that needs a greeter. */
export interface Greeter {
  greet(name: string): string;
}
export const GREETER = defineToken<Greeter>('test.Greeter');
export const SHOUTER = defineToken<{ shout(name: string): string }>('test.Shouter');
export const LOGGER = defineToken<string[]>('test.Logger');

export const politeGreeter = definePlugin({
  id: 'greeter',
  variant: 'polite',
  description: 'says hello',
  params: { punctuation: p.enum(['.', '!'] as const, '.', 'ends each greeting'), repeat: p.uint(1, 'times to greet', { min: 1, max: 3 }) },
  costs: { greet: p.uint(10, 'cycles per greeting') },
  provides: [GREETER],
  requires: [],
  register(c, params) {
    bindSingleton(c, GREETER, () => ({ greet: (n: string) => `Hello, ${n}${params.punctuation}`.repeat(params.repeat) }));
  },
});

export const terseGreeter = definePlugin({
  id: 'greeter',
  variant: 'terse',
  description: 'says hi',
  params: {},
  provides: [GREETER],
  requires: [],
  register(c) {
    bindSingleton(c, GREETER, (c) => {
      const cost = componentCosts(resolve(c, TOKENS.Costs), 'greeter').greet ?? 0;
      return { greet: (n: string) => `hi ${n} (${cost})` };
    });
  },
});

export const shouter = definePlugin({
  id: 'shouter',
  variant: 'loud',
  description: 'upper-cases a greeting',
  params: { bang: p.bool(true, 'adds an exclamation mark') },
  provides: [SHOUTER],
  requires: [GREETER],
  register(c, params) {
    bindSingleton(c, SHOUTER, (c) => ({ shout: (n: string) => resolve(c, GREETER).greet(n).toUpperCase() + (params.bang ? '!' : '') }));
  },
});

export const needsLogger = definePlugin({
  id: 'auditor',
  variant: 'strict',
  description: 'needs a logger nobody provides',
  params: {},
  provides: [],
  requires: [LOGGER],
  register() {},
});

export const liar = definePlugin({
  id: 'liar',
  variant: 'v1',
  description: 'declares a token it never binds',
  params: {},
  provides: [LOGGER],
  requires: [],
  register() {},
});

export function testRegistry(): PluginRegistry {
  return new PluginRegistry([politeGreeter, terseGreeter, shouter, needsLogger, liar]);
}
