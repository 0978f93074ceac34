import { StatGroup, type Counter } from '@tachyxx/core';
import { XsType, XSD_ERRORS } from '@tachyxx/abi';

/** Stats of one xenstored (mount it where you like, e.g. `host.xenstore`). */
export class XenstoreStats extends StatGroup {
  readonly requests = this.counter('requests', 'count', 'requests handled (all types)');
  readonly ops: Record<string, Counter>;
  readonly unknownOps: Counter;
  readonly errorReplies = this.counter('errorReplies', 'count', 'XS_ERROR replies sent');
  readonly errors: Record<string, Counter>;
  readonly watchEvents = this.counter('watchEvents', 'event', 'XS_WATCH_EVENT messages queued (initial events included)');
  readonly watchEventsDeduplicated = this.counter('watchEventsDeduplicated', 'event', 'watch events not queued because an identical one was pending');
  readonly txStarted = this.counter('txStarted', 'count', 'transactions started');
  readonly txCommitted = this.counter('txCommitted', 'count', 'transactions committed');
  readonly txAborted = this.counter('txAborted', 'count', 'transactions ended with F, reset or dropped with their connection');
  readonly txConflicts = this.counter('txConflicts', 'count', 'commits refused with EAGAIN');
  readonly connectionsOpened = this.counter('connectionsOpened', 'count', 'connections (socket, ring, local) opened');
  readonly connectionsDropped = this.counter('connectionsDropped', 'count', 'connections dropped for a protocol error, a bad ring index or output overflow');
  readonly internalErrors = this.counter('internalErrors', 'count', 'requests answered EIO because the op failed inside xenstored (logged)');
  readonly bytesIn = this.counter('bytesIn', 'byte', 'request bytes received (headers included)');
  readonly bytesOut = this.counter('bytesOut', 'byte', 'reply and event bytes queued (headers included)');

  constructor() {
    super();
    const ops = this.group('ops');
    this.ops = Object.fromEntries(Object.keys(XsType).map((n) => [n, ops.counter(n, 'count', `${n} requests`)]));
    this.unknownOps = ops.counter('unknown', 'count', 'requests of unknown type (answered ENOSYS)');
    const errs = this.group('errors');
    this.errors = Object.fromEntries(XSD_ERRORS.map((n) => [n, errs.counter(n, 'count', `${n} error replies`)]));
  }
}
