/**
 * `echo`: Tachyxx's xenbus self-test device. The frontend puts requests on a one-page ring; the
 * backend answers each with a response that only a backend that read the request could write.
 * It exercises every piece of the split-driver layer (handshake, grant-mapped ring, events, stats,
 * rate limiting) with nothing device-specific in the way. guests/xenlib/io/echo.h is the C side;
 * guests/echofront the guest frontend.
 *
 *   struct echo_request  { uint64_t id; uint32_t op; uint32_t value; };     16 bytes
 *   struct echo_response { uint64_t id; int32_t status; uint32_t value; };  16 bytes
 *   ECHO_OP_ECHO (0): value = ~request.value, status 0; any other op: status -EINVAL (-22).
 * One page holds __CONST_RING_SIZE = 128 entries.
 */
import { defineRingTypes, defineStruct, Errno, getU64, setU64, type StructCodec } from '@tachyxx/abi';
import type { Backend, XenbusDevice } from './backend.js';
import type { GrantBackRing } from './ring.js';

export const ECHO_OP_ECHO = 0;

export interface echo_request_t { id: number; op: number; value: number }
export interface echo_response_t { id: number; status: number; value: number }

export const EchoRequest = defineStruct('echo_request', 16, 8, { id: [0, 8], op: [8, 4], value: [12, 4] });
export const EchoResponse = defineStruct('echo_response', 16, 8, { id: [0, 8], status: [8, 4], value: [12, 4] });

export const EchoRequestCodec: StructCodec<echo_request_t> = {
  layout: EchoRequest,
  create: () => ({ id: 0, op: 0, value: 0 }),
  read(v, o, out) {
    out.id = getU64(v, o);
    out.op = v.getUint32(o + 8, true);
    out.value = v.getUint32(o + 12, true);
    return out;
  },
  write(v, o, x) {
    setU64(v, o, x.id);
    v.setUint32(o + 8, x.op >>> 0, true);
    v.setUint32(o + 12, x.value >>> 0, true);
  },
};

export const EchoResponseCodec: StructCodec<echo_response_t> = {
  layout: EchoResponse,
  create: () => ({ id: 0, status: 0, value: 0 }),
  read(v, o, out) {
    out.id = getU64(v, o);
    out.status = v.getInt32(o + 8, true);
    out.value = v.getUint32(o + 12, true);
    return out;
  },
  write(v, o, x) {
    setU64(v, o, x.id);
    v.setInt32(o + 8, x.status | 0, true);
    v.setUint32(o + 12, x.value >>> 0, true);
  },
};

/** DEFINE_RING_TYPES(echo, struct echo_request, struct echo_response). */
export const EchoRing = defineRingTypes('echo', EchoRequestCodec, EchoResponseCodec);

/** The echo backend. One request and one response object, reused (no allocation per request). */
export class EchoBackend implements Backend<echo_request_t, echo_response_t> {
  readonly kind = 'echo' as const;
  readonly ringType = EchoRing;
  private readonly req = EchoRequestCodec.create();
  private readonly rsp = EchoResponseCodec.create();

  probe(): number { return 0; }
  connect(): number { return 0; }
  disconnect(): void {}

  notify(dev: XenbusDevice, ring: GrantBackRing<echo_request_t, echo_response_t>): void {
    serveRequests(dev, ring, this.req, this.rsp, EchoRequest.sizeof, (req, rsp) => {
      rsp.id = req.id;
      if (req.op === ECHO_OP_ECHO) { rsp.status = 0; rsp.value = ~req.value >>> 0; }
      else { rsp.status = -Errno.EINVAL; rsp.value = 0; }
    });
  }
}

/**
 * The request loop every backend runs (Linux blkback's do_block_io_op): take what the frontend
 * published (req_prod checked), charge the rate limiter (when held back: push what is done, arm
 * the retry timer, stop), answer, push with notify check, RING_FINAL_CHECK_FOR_REQUESTS, repeat.
 * `handle` fills `rsp` from the copied `req`. Stops at once on a ring fault (the caller disables
 * the device).
 */
export function serveRequests<Req, Rsp>(
  dev: XenbusDevice,
  ring: GrantBackRing<Req, Rsp>,
  req: Req,
  rsp: Rsp,
  bytesPerRequest: number,
  handle: (req: Req, rsp: Rsp) => void,
): void {
  for (;;) {
    let n = ring.available();
    if (n < 0) return;
    let held = false;
    while (n-- > 0) {
      if (dev.limiter && !dev.limiter.consume(bytesPerRequest, dev.now())) {
        dev.stats.throttled.value++;
        dev.retryIn(dev.limiter.waitNs(bytesPerRequest, dev.now()));
        held = true;
        break;
      }
      ring.takeRequest(req);
      dev.stats.requests.value++;
      dev.stats.bytes.value += bytesPerRequest;
      handle(req, rsp);
      if (!ring.putResponse(rsp)) return;
      dev.stats.responses.value++;
    }
    if (ring.pushResponses()) dev.notifyFrontend();
    if (ring.fault !== null || held) return;
    const more = ring.finalCheckForRequests();
    if (more <= 0) return;
  }
}
