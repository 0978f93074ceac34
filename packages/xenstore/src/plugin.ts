// The xenstore component's plugin: one variant, `cxenstored` (C xenstored's semantics). It binds
// the Xenstored (XENSTORED) and a host component (XENSTORE_COMPONENT) that the host assembly
// attaches after the event channels it needs: every new domain gets a store ring page and port,
// introduced with `introduceRing`; `processRing()` runs when the guest notifies.
import { bindSingleton, definePlugin, defineToken, p, resolve, TOKENS } from '@tachyxx/core';
import { EVTCHN_COMPONENT } from '@tachyxx/evtchn';
import { Xenstored, DEFAULT_QUOTAS } from './xenstored.js';
import { XenstoreComponent } from './components.js';

export const XENSTORED = defineToken<Xenstored>('xenstore.Xenstored');
export const XENSTORE_COMPONENT = defineToken<XenstoreComponent>('xenstore.Component');

export const xenstoredPlugin = definePlugin({
  id: 'xenstore',
  variant: 'cxenstored',
  description: 'xenstored with C xenstored semantics: perms, watches, transactions, quotas, xs_wire',
  params: {
    quota_nodes: p.uint(DEFAULT_QUOTAS.entriesPerDomain, 'nodes a domain may own (xenstored -E)', { min: 1 }),
    quota_node_size: p.uint(DEFAULT_QUOTAS.nodeSize, 'max node size, bytes (xenstored -S)', { min: 64 }),
    quota_watches: p.uint(DEFAULT_QUOTAS.watchesPerDomain, 'watches per domain (xenstored -W)', { min: 1 }),
    quota_transactions: p.uint(DEFAULT_QUOTAS.transactionsPerDomain, 'open transactions per domain (xenstored -t)', { min: 1 }),
    quota_perms: p.uint(DEFAULT_QUOTAS.permsPerNode, 'permission entries per node (xenstored -A)', { min: 2 }),
    quota_transaction_nodes: p.uint(DEFAULT_QUOTAS.nodesPerTransaction, 'nodes one transaction may access (xenstored -Q transaction-nodes=)', { min: 2 }),
    quota_outstanding: p.uint(DEFAULT_QUOTAS.outstandingPerDomain, 'unread replies before a domain ring is no longer read (xenstored -Q outstanding=)', { min: 1 }),
  },
  provides: [XENSTORED, XENSTORE_COMPONENT],
  requires: [TOKENS.Bus, TOKENS.Clock, EVTCHN_COMPONENT],
  component: XENSTORE_COMPONENT,
  register(c, v) {
    bindSingleton(c, XENSTORED, (c) => {
      const clock = resolve(c, TOKENS.Clock);
      const xs = new Xenstored({
        bus: resolve(c, TOKENS.Bus),
        now: () => clock.now,
        quotas: {
          entriesPerDomain: v.quota_nodes,
          nodeSize: v.quota_node_size,
          watchesPerDomain: v.quota_watches,
          transactionsPerDomain: v.quota_transactions,
          permsPerNode: v.quota_perms,
          nodesPerTransaction: v.quota_transaction_nodes,
          outstandingPerDomain: v.quota_outstanding,
        },
      });
      return xs;
    });
    bindSingleton(c, XENSTORE_COMPONENT, (c) => new XenstoreComponent(resolve(c, XENSTORED), resolve(c, EVTCHN_COMPONENT)));
  },
});

/** The xenstore plugins (the console's, `consoleXenconsoled`, is in @tachyxx/xenbus's XENBUS_PLUGINS). */
export const XENSTORE_PLUGINS = [xenstoredPlugin] as const;
