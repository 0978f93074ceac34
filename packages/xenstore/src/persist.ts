/**
 * Durable persistence of the committed tree: a snapshot plus a write-ahead log, so that nothing
 * xenstored acknowledges is lost when it is killed (kill -9, power loss).
 *
 * - Every batch of changes (one request, one committed transaction - always one record - or one
 *   domain release) is appended to the log FILE.wal as a framed record: u32 length, u32 CRC-32 of
 *   the payload, payload (JSON: sequence number, generation, the new state of every changed node
 *   or its removal). Records are physical and idempotent.
 * - Group commit: the records of all requests handled in one turn of the event loop are written
 *   together and fdatasync'd once; xenstored holds every reply and watch event queued meanwhile
 *   (`Xenstored.attachLog`) and sends them only after the fsync, so an acknowledgement means "on
 *   disk". In-process (local) callers get a synchronous fsync before their reply.
 * - Compaction: once the log passes `compactBytes` (or twice the last snapshot, if larger), the
 *   tree is written to FILE.tmp, fsync'd, renamed over FILE, the directory fsync'd, and the log
 *   truncated. The snapshot names the last record it contains (`walSeq`): replay skips older ones.
 * - Load: the snapshot (if any), then the log's records in order; a torn or corrupt record ends
 *   the log (the tail is cut off and a line is logged). Everything is validated before the store
 *   is replaced (`importTree`).
 * - Files are created 0600 and opened with O_NOFOLLOW; the directory must not be world-writable.
 *
 * Connections, watches and open transactions are not persisted, as in C xenstored.
 */
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  lstatSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { permToString } from './perms.js';
import type { Xenstored, XsChange, XsChangeLog, XsTreeJson } from './xenstored.js';

export interface XsPersistenceOptions {
  /** Log size (bytes) past which it is folded into a new snapshot; default 4 MiB. */
  compactBytes?: number;
  /**
   * Writing or syncing the log failed: nothing more can be acknowledged (held output stays held).
   * The standalone daemon exits; by default a line is logged.
   */
  onFatal?: (e: Error) => void;
  /** Log lines (a torn record cut off at load, a fatal error); xenstored's log by default. */
  log?: (line: string) => void;
}

/** File mode of the snapshot, the log and the temporary file. */
export const PERSIST_FILE_MODE = 0o600;
/** Default log size that triggers compaction. */
export const DEFAULT_COMPACT_BYTES = 4 << 20;
/** A record longer than this is corrupt (the biggest possible batch is far smaller). */
const MAX_RECORD_BYTES = 256 << 20;
const HEADER = 8;
const FORMAT = 'tachyxx-xenstore/1';

type Row = XsTreeJson['nodes'][number];
/** A log record: sequence number, generation after it, changes ([path] = removed). */
interface WalRecord {
  q: number;
  g: number;
  c: (Row | [string])[];
}

export interface SnapshotJson extends XsTreeJson {
  /** The last log record the snapshot contains. */
  walSeq?: number;
}

export class XsPersistence implements XsChangeLog {
  readonly walFile: string;
  readonly tmpFile: string;
  readonly compactBytes: number;
  /** Snapshots written (compactions). */
  saves = 0;
  /** Records appended to the log. */
  records = 0;
  /** fdatasync calls on the log. */
  syncs = 0;
  private walFd = -1;
  private walBytes = 0;
  /** Log bytes that are valid at load (a torn tail beyond is cut off at start). */
  private walValidBytes = 0;
  private seq = 0;
  private threshold: number;
  private pending: Buffer[] = [];
  private pendingMark = 0;
  private inflight = false;
  private scheduled = false;
  private failed: Error | undefined;
  private readonly log: (line: string) => void;

  constructor(
    readonly xs: Xenstored,
    readonly file: string,
    private readonly options: XsPersistenceOptions = {},
  ) {
    this.walFile = `${file}.wal`;
    this.tmpFile = `${file}.tmp`;
    this.compactBytes = options.compactBytes ?? DEFAULT_COMPACT_BYTES;
    this.threshold = this.compactBytes;
    this.log = options.log ?? xs.log;
  }

  get dir(): string {
    return dirname(resolve(this.file));
  }

  /** Refuses a directory others may write into (they could replace or pre-create our files). */
  private checkDir(): void {
    const st = statSync(this.dir);
    if (!st.isDirectory()) throw new Error(`${this.dir}: not a directory`);
    if (st.mode & 0o002) throw new Error(`${this.dir}: directory is world-writable (mode ${(st.mode & 0o7777).toString(8)}); keep the --persist file in a directory only its owner can write`);
  }

  private readPrivate(path: string): Buffer | undefined {
    if (!existsSync(path) && !isSymlink(path)) return undefined;
    if (isSymlink(path)) throw new Error(`${path}: is a symbolic link`);
    const fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return readFileSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Loads the snapshot and replays the log (true if either existed), leaving the store untouched
   * if they are bad (throws an Error naming the file and what is wrong).
   */
  load(): boolean {
    this.checkDir();
    const snap = this.readPrivate(this.file);
    const wal = this.readPrivate(this.walFile);
    if (!snap && !wal) return false;
    let tree: SnapshotJson;
    if (snap) {
      try {
        tree = JSON.parse(snap.toString('utf8')) as SnapshotJson;
      } catch (e) {
        throw new Error(`${this.file}: not JSON (${(e as Error).message})`);
      }
      if (!tree || typeof tree !== 'object' || tree.format !== FORMAT || !Array.isArray(tree.nodes)) throw new Error(`${this.file}: not a ${FORMAT} tree`);
    } else tree = this.xs.exportTree();
    const snapSeq = Number.isSafeInteger(tree.walSeq) && tree.walSeq! > 0 ? tree.walSeq! : 0;
    const rows = new Map<string, Row>();
    for (const row of tree.nodes) rows.set(Array.isArray(row) ? String(row[0]) : '', row);
    let generation = tree.generation;
    let seq = snapSeq;
    let off = 0;
    if (wal) {
      while (off + HEADER <= wal.length) {
        const len = wal.readUInt32LE(off);
        const sum = wal.readUInt32LE(off + 4);
        if (len > MAX_RECORD_BYTES || off + HEADER + len > wal.length) break;
        const payload = wal.subarray(off + HEADER, off + HEADER + len);
        if (crc32(payload) !== sum) break;
        let rec: WalRecord;
        try {
          rec = JSON.parse(payload.toString('utf8')) as WalRecord;
        } catch {
          break;
        }
        if (!rec || !Number.isSafeInteger(rec.q) || !Array.isArray(rec.c)) throw new Error(`${this.walFile}: record at byte ${off} is not a change record`);
        if (rec.q > seq) {
          if (seq > snapSeq && rec.q !== seq + 1) throw new Error(`${this.walFile}: record at byte ${off} has sequence ${rec.q} after ${seq}`);
          for (const ch of rec.c) {
            if (!Array.isArray(ch) || typeof ch[0] !== 'string') throw new Error(`${this.walFile}: bad change in record ${rec.q}`);
            if (ch.length === 1) rows.delete(ch[0]);
            else rows.set(ch[0], ch as Row);
          }
          seq = rec.q;
          if (Number.isSafeInteger(rec.g) && rec.g > generation) generation = rec.g;
        }
        off += HEADER + len;
      }
      if (off < wal.length) this.log(`${this.walFile}: cut off a torn or corrupt record at byte ${off} (${wal.length - off} bytes): it was never acknowledged`);
    }
    try {
      this.xs.importTree({ format: FORMAT, generation, nodes: [...rows.values()] });
    } catch (e) {
      throw new Error(`${wal ? `${this.file} + ${this.walFile}` : this.file}: ${(e as Error).message}`);
    }
    this.seq = seq;
    this.walValidBytes = off;
    if (snap) this.threshold = Math.max(this.compactBytes, 2 * snap.length);
    return true;
  }

  /** Opens the log and attaches to the store: from now on every change is logged before it is acknowledged. */
  start(): this {
    this.checkDir();
    if (isSymlink(this.walFile)) throw new Error(`${this.walFile}: is a symbolic link`);
    const fd = openSync(this.walFile, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, PERSIST_FILE_MODE);
    this.walFd = fd;
    fchmodSync(fd, PERSIST_FILE_MODE);
    const size = fstatSync(fd).size;
    if (size > this.walValidBytes) {
      ftruncateSync(fd, this.walValidBytes);
      fsyncSync(fd);
    }
    this.walBytes = this.walValidBytes;
    this.syncDir();
    if (existsSync(this.file)) {
      const sfd = openSync(this.file, constants.O_RDONLY | constants.O_NOFOLLOW);
      fchmodSync(sfd, PERSIST_FILE_MODE);
      closeSync(sfd);
    } else this.compact();
    this.xs.attachLog(this);
    if (this.walBytes >= this.threshold) this.compact();
    return this;
  }

  // ---- XsChangeLog ---------------------------------------------------------------------------

  append(changes: readonly XsChange[], generation: number): void {
    const rec: WalRecord = { q: ++this.seq, g: generation, c: changes.map(([path, n]) => (n ? [path, Buffer.from(n.value).toString('base64'), n.perms.map(permToString), [...n.children]] : [path])) };
    const payload = Buffer.from(JSON.stringify(rec));
    const frame = Buffer.allocUnsafe(HEADER + payload.length);
    frame.writeUInt32LE(payload.length, 0);
    frame.writeUInt32LE(crc32(payload), 4);
    payload.copy(frame, HEADER);
    this.pending.push(frame);
    this.pendingMark = this.xs.outputMark;
    this.records++;
    this.schedule();
  }

  syncNow(): void {
    if (this.failed) throw this.failed;
    try {
      this.writePending();
      fdatasyncSync(this.walFd);
      this.syncs++;
    } catch (e) {
      return this.fatal(e as Error);
    }
    this.xs.releaseOutput(Infinity, true);
    if (!this.inflight) this.maybeCompact();
  }

  // ---- Group commit --------------------------------------------------------------------------

  /** The batch is written after the current turn's I/O callbacks (every request that arrived in it). */
  private schedule(): void {
    if (this.scheduled || this.inflight) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private writePending(): void {
    if (this.pending.length === 0) return;
    const buf = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    this.pending = [];
    let done = 0;
    while (done < buf.length) done += writeSync(this.walFd, buf, done, buf.length - done);
    this.walBytes += buf.length;
  }

  private flush(): void {
    if (this.failed || this.inflight || this.pending.length === 0 || this.walFd < 0) return;
    const mark = this.pendingMark;
    try {
      this.writePending();
    } catch (e) {
      return this.fatal(e as Error);
    }
    this.inflight = true;
    fdatasync(this.walFd, (err) => {
      this.inflight = false;
      if (this.walFd < 0) return; // stopped meanwhile (stop() synced everything itself)
      if (err) return this.fatal(err);
      this.syncs++;
      const all = this.pending.length === 0;
      this.xs.releaseOutput(mark, all);
      if (all) this.maybeCompact();
      else this.flush();
    });
  }

  private fatal(e: Error): void {
    if (this.failed) return;
    this.failed = e;
    this.log(`${this.walFile}: cannot write the log (${e.message}); no further change is acknowledged`);
    this.options.onFatal?.(e);
  }

  // ---- Snapshots -----------------------------------------------------------------------------

  private maybeCompact(): void {
    if (this.walBytes < this.threshold || this.failed) return;
    try {
      this.compact();
    } catch (e) {
      this.fatal(e as Error);
    }
  }

  /** Writes the tree as a snapshot (temp file, fsync, rename, directory fsync) and empties the log. */
  save(): void {
    if (this.walFd >= 0) this.syncNow();
    this.compact();
  }

  private compact(): void {
    const snap: SnapshotJson = { ...this.xs.exportTree(), walSeq: this.seq };
    const data = Buffer.from(JSON.stringify(snap));
    if (existsSync(this.tmpFile) || isSymlink(this.tmpFile)) unlinkSync(this.tmpFile);
    const fd = openSync(this.tmpFile, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, PERSIST_FILE_MODE);
    try {
      fchmodSync(fd, PERSIST_FILE_MODE);
      let done = 0;
      while (done < data.length) done += writeSync(fd, data, done, data.length - done);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(this.tmpFile, this.file);
    this.syncDir();
    if (this.walFd >= 0) {
      ftruncateSync(this.walFd, 0);
      fsyncSync(this.walFd);
      this.walBytes = 0;
    }
    this.threshold = Math.max(this.compactBytes, 2 * data.length);
    this.saves++;
  }

  private syncDir(): void {
    const fd = openSync(this.dir, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  /** Makes everything durable, writes a final snapshot, closes the log and detaches. */
  stop(): void {
    if (this.walFd < 0) return;
    if (!this.failed) {
      this.syncNow();
      if (!this.failed) this.compact();
    }
    // After a failure held output stays held: it was never made durable.
    if (!this.failed) this.xs.attachLog(undefined);
    closeSync(this.walFd);
    this.walFd = -1;
  }
}

function isSymlink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}
