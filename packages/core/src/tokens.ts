/**
 * Typed DI tokens. A token is a registered symbol (`Symbol.for`), so two copies of a package
 * (built dist and source under test) still agree on it, and it carries its value type so
 * `resolve(container, token)` is typed.
 */
import 'reflect-metadata'; // before tsyringe, whichever module loads first
import type { DependencyContainer, InjectionToken } from 'tsyringe';
import { instanceCachingFactory } from 'tsyringe';
import type { EventBus } from './bus.js';
import type { SimClock } from './clock.js';
import type { EventQueue } from './event-queue.js';
import type { HostConfig } from './config.js';
import type { Rng } from './rng.js';
import type { StatGroup } from './stats.js';

declare const tokenType: unique symbol;
/** A DI token whose resolved value has type T. */
export type Token<T> = symbol & { readonly [tokenType]?: T };

const PREFIX = 'tachyxx:';

/** Declares a token, e.g. `defineToken<Translator>('mmu.Translator')`. Same name => same token. */
export function defineToken<T>(name: string): Token<T> {
  return Symbol.for(PREFIX + name) as Token<T>;
}

/** The readable name of any tsyringe token, for error messages. */
export function tokenName(token: InjectionToken<unknown>): string {
  if (typeof token === 'symbol') {
    const d = token.description ?? 'symbol';
    return d.startsWith(PREFIX) ? d.slice(PREFIX.length) : d;
  }
  if (typeof token === 'string') return token;
  if (typeof token === 'function') return token.name || 'anonymous class';
  return 'delayed constructor';
}

/** Tokens the composition root registers in every host container. */
export const TOKENS = {
  /** The validated host config (`HostConfig`). */
  HostConfig: defineToken<HostConfig>('HostConfig'),
  /** The coarse-event bus of this simulation. */
  Bus: defineToken<EventBus>('Bus'),
  /** Simulated time of this simulation. */
  Clock: defineToken<SimClock>('Clock'),
  /** The discrete-event queue (drives `Clock`). */
  EventQueue: defineToken<EventQueue>('EventQueue'),
  /** The root of the stats tree; plugins mount their groups under it. */
  Stats: defineToken<StatGroup>('Stats'),
  /** The root PRNG, seeded from `seed`; fork a stream per component with `rng.fork(id)`. */
  Rng: defineToken<Rng>('Rng'),
  /** The cost model: cycle cost by name (`config.costs`, defaults filled in). */
  Costs: defineToken<Readonly<Record<string, number>>>('Costs'),
} as const;

/** Resolves a typed token. */
export function resolve<T>(container: DependencyContainer, token: Token<T>): T {
  return container.resolve<T>(token);
}

/** Binds a token to a value. */
export function bindValue<T>(container: DependencyContainer, token: Token<T>, value: T): void {
  container.register<T>(token, { useValue: value });
}

/** Binds a token to a factory called once, on first resolution (a singleton in this container). */
export function bindSingleton<T>(container: DependencyContainer, token: Token<T>, factory: (c: DependencyContainer) => T): void {
  container.register<T>(token, { useFactory: instanceCachingFactory<T>(factory) });
}
