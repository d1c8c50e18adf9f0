// A minimal relay client for the load generator: it speaks Engine.IO v4 / Socket.IO v5 directly
// over a WebSocket on a bare TCP socket (`FrameSocket` below), so each delivery costs the
// generator one read into a reused buffer, a frame header and a few byte comparisons instead of
// socket.io-client's packet decoding and event dispatch. The relay sees exactly the frames
// socket.io-client would send (docs/RELAY.md is the contract), so the relay's own work is the
// same whichever generator drives it.
//
// It first ran over the `ws` package (commit 403b979); ws's receive path (Node's Readable stream
// plus ws's Receiver, a Writable, per frame) kept the generator at 15-18 µs of CPU per delivery
// at 50,000 deliveries/s, its one thread about 85 % busy, which showed up as p99 latency. Over
// a bare socket reading with `onread` it costs about 11 µs (most of it the kernel's TCP
// receive), measured in the same commands.
//
// The framing, checked against the installed packages (engine.io-parser 5, socket.io-parser 4,
// engine.io 6, WebSocket transport only):
//
//   Engine.IO packet = one WebSocket frame. Text: a type digit then the data (0 open, 1 close,
//   2 ping, 3 pong, 4 message). A binary frame is a `message` whose data is the bytes themselves.
//   Socket.IO packet inside a text `message`: a type digit (0 CONNECT, 1 DISCONNECT, 2 EVENT,
//   3 ACK, 4 CONNECT_ERROR, 5 BINARY_EVENT, 6 BINARY_ACK), for the binary types the attachment
//   count and '-', the namespace if not '/', the ack id, then the JSON array. Each binary
//   attachment follows as its own binary frame and replaces {"_placeholder":true,"num":i}.
//
//   relay -> client                                     client -> relay
//   0{"sid":..,"pingInterval":..}  open                 40                  connect to '/'
//   40{"sid":..}                   connected            3                   pong
//   2                              ping                 42<id>["join",{..}] join with ack <id>
//   43<id>[{..reply..}]            ack of <id>          451-<id>["send",{"room":..,"data":
//   42["event",{..}]               joined/left            {"_placeholder":true,"num":0}}]
//   451-["event",{..,"data":         message              + one binary frame
//     {"_placeholder":true,"num":0},..}] + one binary frame
//
// Per delivery the client reads the event's seq from the text frame (to check that the stream
// has no gap, repeat or reordering) and hands the binary frame to `onMessage`; it never parses
// the event's JSON. Anything it does not expect is an error: the client closes and `onError`
// runs (the load generator then fails the run).
import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { maskedFrame, OPCODE, readFrameHeader } from '../src-main/relay/ws-frame';

const ACK_TIMEOUT_MS = 10_000;
const OPEN_TIMEOUT_MS = 10_000;

const BINARY_EVENT = Buffer.from('451-["event",');
const EVENT = Buffer.from('42["event",');
const SEQ = Buffer.from('"seq":');
const CH_0 = 0x30;

/** The reply to `join`, as docs/RELAY.md defines it (only what the generator uses). */
export interface WireJoinReply {
  readonly ok: boolean;
  readonly seq?: number;
  readonly members?: readonly string[];
  readonly error?: { readonly code: string; readonly message: string };
}

export class WireClientError extends Error {}

type AckHandler = (reply: string) => void;

export interface WireClientHandlers {
  /** A `message` event: its seq and the bytes of `data` (valid only during the call). */
  onMessage?: (data: Buffer, seq: number) => void;
  /** A `joined` or `left` event, parsed (rare, so JSON is fine here). */
  onPresence?: (event: { type: string; nick: string; seq: number }) => void;
  /** The first unexpected thing that happened; the connection is closed by then. */
  onError?: (err: Error) => void;
}

/** One connection, in at most one room (what the load generator needs). */
export class WireClient {
  /** Events received (message and presence) since the join. */
  events = 0;
  private ws: FrameSocket;
  private nextAckId = 0;
  private readonly acks = new Map<number, AckHandler>();
  /** Seq of the binary event whose attachment is the next frame, or -1. */
  private pendingBinarySeq = -1;
  /** Next seq this connection must receive, once joined. */
  private expectedSeq = -1;
  private room: string | undefined;
  private joinCalled = false;
  private sendHeadSuffix = '';
  private closing = false;
  private failure: Error | undefined;
  private state: 'opening' | 'connecting' | 'open' | 'closed' = 'opening';
  private connected!: { resolve: () => void; reject: (err: Error) => void };

  private constructor(
    url: string,
    private readonly handlers: WireClientHandlers,
  ) {
    this.ws = new FrameSocket(socketUrl(url), {
      open: () => undefined,
      frame: (data, binary) => {
        try {
          if (binary) this.onBinary(data);
          else this.onText(data);
        } catch (err) {
          this.fail(err instanceof Error ? err : new WireClientError(String(err)));
        }
      },
      error: (err) => this.fail(err),
      close: (reason) => {
        const was = this.state;
        this.state = 'closed';
        if (!this.closing)
          this.fail(new WireClientError(`relay closed the connection (${reason})`));
        else if (was !== 'closed') this.rejectAcks(new WireClientError('connection closed'));
      },
    });
  }

  /** Opens the WebSocket and connects to the default namespace. */
  static async connect(url: string, handlers: WireClientHandlers = {}): Promise<WireClient> {
    const client = new WireClient(url, handlers);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        client.fail(new WireClientError(`no Socket.IO connect from ${url} within 10 s`));
      }, OPEN_TIMEOUT_MS);
      client.connected = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
    return client;
  }

  /** Joins `room` as `nick`; throws (with the relay's error code) unless the relay accepts. */
  async join(payload: { room: string; nick: string; token?: string }): Promise<WireJoinReply> {
    if (this.joinCalled) throw new WireClientError('this client joins one room, once');
    this.joinCalled = true;
    const id = this.nextAckId++;
    // The reply is applied in the ack's own frame handler: the member's events can follow in
    // the same TCP read, before any promise continuation would run.
    let text = '';
    const reply = await this.request(id, `42${id}${JSON.stringify(['join', payload])}`, (ack) => {
      text = ack;
      const parsed = parseAck<WireJoinReply>(ack);
      if (parsed.ok && typeof parsed.seq === 'number') {
        this.room = payload.room;
        this.expectedSeq = parsed.seq;
      }
      return parsed;
    });
    if (!reply.ok || typeof reply.seq !== 'number') {
      const code = reply.error?.code ?? 'UNKNOWN';
      throw new WireClientError(
        `join ${payload.room} as ${payload.nick} failed: ${code} (${reply.error?.message ?? text})`,
      );
    }
    this.sendHeadSuffix = `["send",${JSON.stringify({
      room: payload.room,
      data: { _placeholder: true, num: 0 },
    })}]`;
    return reply;
  }

  /**
   * Publishes `data` to the joined room. `onReply` gets whether the relay accepted it (the ack is
   * one text frame per message, parsed only when it is not the usual `[{"ok":true,...`).
   */
  send(data: Uint8Array, onReply?: (ok: boolean, reply: string) => void): void {
    if (this.room === undefined) throw new WireClientError('send before join');
    if (this.failure) throw this.failure;
    let head: string;
    if (onReply) {
      const id = this.nextAckId++;
      this.acks.set(id, (reply) => onReply(reply.startsWith('[{"ok":true'), reply));
      head = `451-${id}${this.sendHeadSuffix}`;
    } else {
      head = `451-${this.sendHeadSuffix}`;
    }
    this.ws.send(head, data);
  }

  get error(): Error | undefined {
    return this.failure;
  }

  close(): void {
    if (this.closing) return;
    this.closing = true;
    this.rejectAcks(new WireClientError('connection closed'));
    if (this.state !== 'closed') this.ws.close();
  }

  private request<T>(id: number, text: string, onAck: (ack: string) => T): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new WireClientError(`no reply to request ${id} within ${ACK_TIMEOUT_MS} ms`));
      }, ACK_TIMEOUT_MS);
      const handler: AckHandler & { reject?: (err: Error) => void } = (ack) => {
        clearTimeout(timer);
        try {
          resolve(onAck(ack));
        } catch (err) {
          reject(err instanceof Error ? err : new WireClientError(String(err)));
        }
      };
      handler.reject = (err) => {
        clearTimeout(timer);
        reject(err);
      };
      this.acks.set(id, handler);
      this.ws.send(text);
    });
  }

  private rejectAcks(err: Error): void {
    const pending = [...this.acks.values()];
    this.acks.clear();
    for (const handler of pending) (handler as { reject?: (e: Error) => void }).reject?.(err);
  }

  private fail(err: Error): void {
    if (this.failure || this.closing) return;
    this.failure = err;
    if (this.state === 'opening' || this.state === 'connecting') this.connected?.reject(err);
    this.closing = true;
    this.rejectAcks(err);
    if (this.state !== 'closed') this.ws.terminate();
    this.handlers.onError?.(err);
  }

  private onText(frame: Buffer): void {
    const engineType = frame[0];
    if (engineType === 0x34 /* '4' message */) {
      const type = frame[1];
      if (type === 0x35 /* '5' binary event */) {
        if (this.pendingBinarySeq !== -1) throw this.unexpected('text frame', frame);
        if (frame.compare(BINARY_EVENT, 0, BINARY_EVENT.length, 0, BINARY_EVENT.length) !== 0) {
          throw this.unexpected('binary packet', frame);
        }
        this.pendingBinarySeq = this.readSeq(frame, BINARY_EVENT.length);
        return;
      }
      if (this.pendingBinarySeq !== -1) throw this.unexpected('text frame', frame);
      if (type === 0x33 /* '3' ack */) {
        let i = 2;
        let id = 0;
        for (let c = frame[i]; c !== undefined && c >= CH_0 && c <= 0x39; c = frame[++i]) {
          id = id * 10 + (c - CH_0);
        }
        if (i === 2) throw this.unexpected('ack', frame);
        const handler = this.acks.get(id);
        if (!handler) throw this.unexpected(`ack ${id}`, frame);
        this.acks.delete(id);
        handler(frame.toString('utf8', i));
        return;
      }
      if (type === 0x32 /* '2' event */) {
        if (frame.compare(EVENT, 0, EVENT.length, 0, EVENT.length) !== 0) {
          throw this.unexpected('event', frame);
        }
        const [, event] = JSON.parse(frame.toString('utf8', 2)) as [
          string,
          { type: string; nick: string; seq: number },
        ];
        this.checkSeq(event.seq, frame);
        this.events++;
        this.handlers.onPresence?.(event);
        return;
      }
      if (type === 0x30 /* '0' connect */ && this.state === 'connecting') {
        this.state = 'open';
        this.connected.resolve();
        return;
      }
      throw this.unexpected('Socket.IO packet', frame);
    }
    if (this.pendingBinarySeq !== -1) throw this.unexpected('text frame', frame);
    if (engineType === 0x32 /* '2' ping */ && frame.length === 1) {
      this.ws.send('3');
      return;
    }
    if (engineType === 0x30 /* '0' open */ && this.state === 'opening') {
      const open = JSON.parse(frame.toString('utf8', 1)) as { sid?: unknown };
      if (typeof open.sid !== 'string') throw this.unexpected('open packet', frame);
      this.state = 'connecting';
      this.ws.send('40');
      return;
    }
    throw this.unexpected('Engine.IO packet', frame);
  }

  private onBinary(frame: Buffer): void {
    const seq = this.pendingBinarySeq;
    if (seq === -1) throw new WireClientError('binary frame without a binary event before it');
    this.pendingBinarySeq = -1;
    this.checkSeq(seq, undefined);
    this.events++;
    this.handlers.onMessage?.(frame, seq);
  }

  private readSeq(frame: Buffer, from: number): number {
    let i = frame.indexOf(SEQ, from);
    if (i < 0) throw this.unexpected('event without seq', frame);
    i += SEQ.length;
    const start = i;
    let seq = 0;
    for (let c = frame[i]; c !== undefined && c >= CH_0 && c <= 0x39; c = frame[++i]) {
      seq = seq * 10 + (c - CH_0);
    }
    if (i === start) throw this.unexpected('event seq', frame);
    return seq;
  }

  private checkSeq(seq: number, frame: Buffer | undefined): void {
    if (this.expectedSeq === -1) {
      throw this.unexpected(`event ${seq} before joining`, frame);
    }
    if (seq !== this.expectedSeq) {
      throw new WireClientError(
        `${this.room}: expected event ${this.expectedSeq}, got ${seq} (gap, repeat or reorder)`,
      );
    }
    this.expectedSeq++;
  }

  private unexpected(what: string, frame: Buffer | undefined): WireClientError {
    const text = frame ? ` ${JSON.stringify(frame.toString('utf8', 0, 200))}` : '';
    return new WireClientError(`unexpected ${what} from the relay:${text}`);
  }
}

/** `http://host:port` (what the relay prints) to its Engine.IO WebSocket endpoint. */
export function socketUrl(url: string): string {
  const u = new URL(url);
  u.protocol = u.protocol === 'https:' || u.protocol === 'wss:' ? 'wss:' : 'ws:';
  u.pathname = '/socket.io/';
  u.search = '?EIO=4&transport=websocket';
  return u.toString();
}

/** The first argument of an ack frame's JSON array (`[reply]`). */
function parseAck<T>(text: string): T {
  const args = JSON.parse(text) as unknown;
  if (!Array.isArray(args) || args.length < 1) {
    throw new WireClientError(`unexpected ack from the relay: ${text}`);
  }
  return args[0] as T;
}

/**
 * A WebSocket client over a bare TCP socket, just enough for the relay: the RFC 6455 handshake,
 * masked unfragmented frames out, unmasked frames in. Reads land in one reused buffer (`onread`),
 * skipping Node's Readable stream and ws's Receiver, which together cost more CPU per delivery
 * than everything else the generator does (see docs/benchmarks/README.md, relay). A frame's
 * bytes are only valid during the `onFrame` call.
 */
class FrameSocket {
  private state: 'handshake' | 'open' | 'closing' | 'closed' = 'handshake';
  private readonly tcp: Socket;
  private readonly key = randomBytes(16).toString('base64');
  private head = '';
  /** Bytes of an incomplete frame carried over from the previous read. */
  private carry: Buffer | undefined;

  constructor(
    url: string,
    private readonly on: {
      open: () => void;
      frame: (data: Buffer, binary: boolean) => void;
      error: (err: Error) => void;
      close: (reason: string) => void;
    },
  ) {
    const u = new URL(url);
    this.tcp = connect({
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 80),
      noDelay: true,
      onread: { buffer: READ_BUFFER, callback: (n) => this.onRead(READ_BUFFER, n) },
    });
    this.tcp.on('connect', () => {
      this.tcp.write(
        `GET ${u.pathname}${u.search} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${this.key}\r\n` +
          `Sec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    this.tcp.on('error', (err) => this.on.error(err));
    this.tcp.on('close', () => {
      const was = this.state;
      this.state = 'closed';
      if (was !== 'closed') this.on.close(was === 'closing' ? 'closed' : 'connection lost');
    });
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Sends each part as one frame (strings as text), all in one write. */
  send(...parts: (string | Uint8Array)[]): void {
    if (this.state !== 'open') return;
    if (parts.length > 1) this.tcp.cork();
    for (const data of parts) {
      const text = typeof data === 'string';
      this.tcp.write(
        clientFrame(text ? OPCODE.text : OPCODE.binary, text ? Buffer.from(data) : data),
      );
    }
    if (parts.length > 1) this.tcp.uncork();
  }

  /** Sends a close frame and ends the connection. */
  close(): void {
    if (this.state === 'open') this.tcp.end(clientFrame(OPCODE.close, Buffer.from([0x03, 0xe8])));
    else this.tcp.end();
    if (this.state !== 'closed') this.state = 'closing';
  }

  terminate(): void {
    if (this.state !== 'closed') this.state = 'closing';
    this.tcp.destroy();
  }

  private onRead(buf: Buffer, n: number): boolean {
    try {
      let chunk = buf.subarray(0, n);
      if (this.state === 'handshake') {
        const rest = this.onHandshake(chunk);
        if (!rest) return true;
        chunk = rest;
      }
      if (this.carry) {
        chunk = Buffer.concat([this.carry, chunk]);
        this.carry = undefined;
      }
      let at = 0;
      while (at < chunk.length && this.state === 'open') {
        const used = this.parseFrame(chunk, at);
        if (used === 0) {
          this.carry = Buffer.from(chunk.subarray(at)); // a copy: the read buffer is reused
          break;
        }
        at += used;
      }
    } catch (err) {
      this.on.error(err instanceof Error ? err : new Error(String(err)));
    }
    return true;
  }

  /** Consumes the HTTP response; returns what follows it, or undefined while it is incomplete. */
  private onHandshake(chunk: Buffer): Buffer | undefined {
    this.head += chunk.toString('latin1');
    const end = this.head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (this.head.length > 16_384) throw new WireClientError('oversized HTTP response');
      return undefined;
    }
    const lines = this.head.slice(0, end).split('\r\n');
    const accept = createHash('sha1').update(`${this.key}${WS_GUID}`).digest('base64');
    const acceptLine = lines.find((l) => /^sec-websocket-accept:/i.test(l));
    if (!/^HTTP\/1\.1 101 /.test(lines[0] ?? '') || acceptLine?.split(':')[1]?.trim() !== accept) {
      throw new WireClientError(`WebSocket upgrade refused: ${lines[0] ?? '(no status)'}`);
    }
    const rest = Buffer.from(this.head.slice(end + 4), 'latin1');
    this.head = '';
    this.state = 'open';
    this.on.open();
    return rest.length ? rest : undefined;
  }

  /** Handles one complete frame at `at`; returns its length, or 0 if it is not all here yet. */
  private parseFrame(chunk: Buffer, at: number): number {
    const head = readFrameHeader(chunk, at);
    if (!head) return 0;
    if (head.masked) throw new WireClientError('masked frame from the server');
    if (!head.fin || head.opcode === 0) {
      throw new WireClientError('fragmented frame from the server (not used by the relay)');
    }
    const { length, start, opcode } = head;
    if (chunk.length - start < length) return 0;
    const payload = chunk.subarray(start, start + length);
    if (opcode === OPCODE.text || opcode === OPCODE.binary) {
      this.on.frame(payload, opcode === OPCODE.binary);
    } else if (opcode === OPCODE.ping) this.tcp.write(clientFrame(OPCODE.pong, payload));
    else if (opcode === OPCODE.close) {
      this.state = 'closing';
      this.tcp.end();
      this.on.close(`close frame ${length >= 2 ? payload.readUInt16BE(0) : ''}`.trim());
    } else if (opcode !== OPCODE.pong) {
      throw new WireClientError(`unknown WebSocket opcode ${opcode}`);
    }
    return start + length - at;
  }
}

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);

/** A client frame with a fresh random mask (the encoder is the relay's, src-main/relay/ws-frame). */
const mask = Buffer.alloc(4);
function clientFrame(opcode: number, payload: Uint8Array): Buffer {
  randomFillSync(mask);
  return maskedFrame(opcode, payload, mask);
}
