// Beyond one machine: runs on a BullMQ queue in Redis. The sweep adds one job per run (job id =
// the run's cache key, so a run is queued once however often the sweep is restarted) and waits
// for each to finish; `tachyxx worker` processes take jobs, simulate them in their own local pool
// (so the event loop keeps renewing BullMQ's job locks) and return the outcome. A worker killed
// mid-run stops renewing its lock; another worker's stalled-job check moves the job back to the
// wait list and it runs again elsewhere. The sweep keeps exactly one outcome per key.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { Queue, QueueEvents, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import type { RunJob } from './expand.js';
import type { RunOutcome } from './execute.js';
import { LocalPool, type RunBackend } from './pool.js';

/** Default queue name (`?queue=NAME` in the URL picks another). */
export const DEFAULT_QUEUE_NAME = 'tachyxx-sweep';
/** BullMQ lock on an active job (ms): a worker that stops renewing it for this long is stalled (BullMQ's default). */
export const DEFAULT_LOCK_MS = 30_000;
/** How many times a job may stall (its worker died) before it fails; BullMQ's default is 1. */
export const MAX_STALLED_COUNT = 3;
/** Finished jobs (and uploaded images) are kept this long (s) so a restarted sweep can collect them. */
export const KEEP_FINISHED_SECONDS = 24 * 3600;
/** Images a worker keeps in memory between runs (by sha256). */
export const WORKER_IMAGE_CACHE = 64;

/** Where an image's bytes are stored in Redis: once per image, not once per job. */
export const imageKey = (queue: string, sha256: string) => `tachyxx:${queue}:image:${sha256}`;

export interface QueueTarget {
  readonly connection: ConnectionOptions;
  readonly name: string;
  /** For messages (no password). */
  readonly display: string;
}

/**
 * Parses `redis://[:password@]HOST:PORT[/DB][?queue=NAME]` or `redis+unix:///path/to/socket[?queue=NAME]`.
 * Throws Error with a one-line message on anything else.
 */
export function parseQueueUrl(url: string): QueueTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`--queue: '${url}' is not a URL (redis://HOST:PORT or redis+unix:///path/to/socket)`);
  }
  const name = u.searchParams.get('queue') ?? DEFAULT_QUEUE_NAME;
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new Error(`--queue: bad queue name '${name}'`);
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  if (u.protocol === 'redis+unix:' || u.protocol === 'unix:') {
    if (!u.pathname || u.pathname === '/') throw new Error(`--queue: '${url}' names no socket path`);
    return { connection: { path: decodeURIComponent(u.pathname), ...(password ? { password } : {}), maxRetriesPerRequest: null }, name, display: `${u.protocol}//${u.pathname}` };
  }
  if (u.protocol !== 'redis:') throw new Error(`--queue: unsupported scheme '${u.protocol}' (redis: or redis+unix:)`);
  const port = u.port ? Number(u.port) : 6379;
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : 0;
  if (!Number.isInteger(db) || db < 0) throw new Error(`--queue: bad database number in '${url}'`);
  return { connection: { host: u.hostname || '127.0.0.1', port, db, ...(password ? { password } : {}), maxRetriesPerRequest: null }, name, display: `redis://${u.hostname}:${port}/${db}` };
}

/** The sweep's side: every run becomes a job; outcomes come back from whichever worker ran it. */
export class QueueBackend implements RunBackend {
  /** Everything goes on the queue at once: the workers decide the parallelism. */
  readonly capacity = Number.POSITIVE_INFINITY;
  private readonly queue: Queue;
  private readonly events: QueueEvents;
  private readonly started = new Map<string, () => void>();
  private readonly redis: Redis;
  private readonly uploaded = new Map<string, Promise<unknown>>();
  private ready: Promise<unknown>;

  constructor(readonly target: QueueTarget) {
    this.redis = new Redis(target.connection as RedisOptions);
    this.queue = new Queue(target.name, { connection: target.connection });
    this.events = new QueueEvents(target.name, { connection: target.connection });
    this.events.on('active', ({ jobId }) => {
      const cb = this.started.get(jobId);
      if (cb) {
        this.started.delete(jobId);
        cb();
      }
    });
    this.ready = Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]);
  }

  async run(job: RunJob, onStart?: () => void): Promise<RunOutcome> {
    await this.ready;
    // Ship the image bytes, once per image: a worker on another machine has no access to this
    // one's files. Workers check them against the sha256 the job carries.
    for (const img of job.images) {
      let up = this.uploaded.get(img.sha256);
      if (!up) this.uploaded.set(img.sha256, (up = this.redis.set(imageKey(this.target.name, img.sha256), readFileSync(img.file), 'EX', KEEP_FINISHED_SECONDS)));
      await up;
    }
    const shipped: RunJob = { ...job, images: job.images.map(({ base64: _, ...i }) => i) };
    if (onStart) this.started.set(job.key, onStart);
    for (let attempt = 0; ; attempt++) {
      const j = (await this.queue.add('run', shipped, { jobId: job.key, attempts: 1, removeOnComplete: { age: KEEP_FINISHED_SECONDS }, removeOnFail: { age: KEEP_FINISHED_SECONDS } })) as Job<RunJob, RunOutcome>;
      try {
        const out = await j.waitUntilFinished(this.events);
        if (!out || out.key !== job.key) throw new Error(`job ${job.key} returned no outcome`);
        // Collected: the result now lives in the sweep's cache, not in Redis.
        await j.remove().catch(() => {});
        return out;
      } catch (e) {
        // A job that failed in an earlier sweep (its worker stalled too often, or crashed): retry
        // it once; a second failure is this run's outcome.
        const state = await this.queue.getJobState(job.key);
        if (state === 'failed' && attempt === 0) {
          const again = await this.queue.getJob(job.key);
          if (again) {
            await again.retry('failed');
            continue;
          }
        }
        this.started.delete(job.key);
        return { key: job.key, status: 'failed', reason: `queue: ${e instanceof Error ? e.message : String(e)}`, stats: null, wallSeconds: 0, deterministic: false };
      }
    }
  }

  async close(): Promise<void> {
    await this.events.close();
    await this.queue.close();
    this.redis.disconnect();
  }
}

export interface QueueWorkerOptions {
  readonly target: QueueTarget;
  /** Runs at once on this machine (each in its own worker thread). */
  readonly jobs: number;
  /** BullMQ lock duration (ms); the stalled check runs at the same interval. */
  readonly lockMs?: number;
  readonly log?: (line: string) => void;
}

export interface QueueWorker {
  /** Runs this worker completed. */
  readonly completed: () => number;
  close(): Promise<void>;
}

/** Starts taking runs from the queue; resolves once connected. */
export async function startQueueWorker(o: QueueWorkerOptions): Promise<QueueWorker> {
  const pool = new LocalPool(o.jobs);
  const log = o.log ?? (() => {});
  const lockMs = o.lockMs ?? DEFAULT_LOCK_MS;
  const me = `${hostname()}:${process.pid}`;
  let completed = 0;
  const redis = new Redis(o.target.connection as RedisOptions);
  const images = new Map<string, string>();
  const withImages = async (job: RunJob): Promise<RunJob | string> => {
    const out = [];
    for (const img of job.images) {
      let b64 = img.base64 ?? images.get(img.sha256);
      if (b64 === undefined) {
        const bytes = await redis.getBuffer(imageKey(o.target.name, img.sha256));
        if (!bytes) return `image ${img.file} (sha256 ${img.sha256.slice(0, 12)}) is not in the queue's store (expired?)`;
        b64 = bytes.toString('base64');
        if (images.size >= WORKER_IMAGE_CACHE) images.delete(images.keys().next().value!);
        images.set(img.sha256, b64);
      }
      out.push({ ...img, base64: b64 });
    }
    return { ...job, images: out };
  };
  const worker = new Worker<RunJob, RunOutcome>(
    o.target.name,
    async (job) => {
      log(`worker ${me}: run ${job.data.id} (${job.data.key.slice(0, 12)})`);
      const full = await withImages(job.data);
      // executeRun checks every image against its sha256
      const out = typeof full === 'string' ? { key: job.data.key, status: 'failed' as const, reason: full, stats: null, wallSeconds: 0, deterministic: false } : await pool.run(full);
      completed++;
      log(`worker ${me}: ${out.status} ${job.data.id}${out.status === 'failed' ? `: ${out.reason}` : ''} (${out.wallSeconds.toFixed(2)} s)`);
      return out;
    },
    { connection: o.target.connection, concurrency: o.jobs, lockDuration: lockMs, stalledInterval: lockMs, maxStalledCount: MAX_STALLED_COUNT },
  );
  worker.on('error', (e) => log(`worker ${me}: ${e.message}`));
  await worker.waitUntilReady();
  return {
    completed: () => completed,
    async close() {
      await worker.close();
      await pool.close();
      redis.disconnect();
    },
  };
}
