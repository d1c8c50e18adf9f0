// A misbehaving participant over the real relay, for the accountability tests: the protocol
// engine itself, driven by the client's relay link, with a transform on what it sends (the
// simulator's adversaries, src-main/sim/adversary.ts). Timers are real, so the room's own limbo
// and stall timers apply to it as to anyone; its own are long (see below).
import { Crypto, cryptoReady, systemRandom } from '../../../src-main/protocol/crypto';
import { RoomEngine } from '../../../src-main/protocol/engine';
import type { AppEvent, Effect, EngineInput } from '../../../src-main/protocol/events';
import { asNick, asSeq } from '../../../src-main/protocol/types';
import { RelayLink } from '../../../src-main/client/relay-link';
import type { SimClient } from '../../../src-main/sim/relay';

export interface EvilClient {
  engine: RoomEngine;
  events: AppEvent[];
  close(): void;
}

export async function startEvilClient(
  url: string,
  room: string,
  nick: string,
  tamper: (client: SimClient) => (data: Uint8Array) => Uint8Array | null,
): Promise<EvilClient> {
  await cryptoReady();
  const crypto = new Crypto(systemRandom);
  const engine = new RoomEngine({
    nick: asNick(nick),
    identity: crypto.signKeyPair(),
    crypto,
    // Its own timers never fire within a test: in a room of two, one member's accusation is a
    // majority of the others (contract rule 6), and a slow machine would let it evict the one
    // honest member before the blame round it is being tested for has run.
    limboTimeoutMs: 600_000,
    joinRetryMs: 3_000,
    stallMs: 600_000,
    admission: 'open',
  });
  const events: AppEvent[] = [];
  const timers = new Map<string, ReturnType<typeof setTimeout>>();
  // The adversaries read the engine and crypto through the simulator's client shape.
  const shape = { nick: asNick(nick), engine, crypto } as unknown as SimClient;
  const transform = tamper(shape);
  let link: RelayLink | null = null;
  const run = (effects: Effect[]) => {
    for (const e of effects) {
      if (e.type === 'send') {
        const data = transform(e.data);
        if (data) void link?.send(data).catch(() => undefined);
      } else if (e.type === 'event') events.push(e.event);
      else if (e.type === 'arm-timer') {
        clearTimeout(timers.get(e.key));
        timers.set(
          e.key,
          setTimeout(() => {
            timers.delete(e.key);
            run(engine.handle({ kind: 'timer', key: e.key, at: Date.now() }));
          }, e.afterMs),
        );
      } else if (e.type === 'cancel-timer') {
        clearTimeout(timers.get(e.key));
        timers.delete(e.key);
      }
    }
  };
  let membersBefore: string[] = [];
  link = new RelayLink(
    { url, room, nick },
    {
      onJoined: (info) => {
        membersBefore = info.members.filter((m) => m !== nick);
      },
      onEvent: (event) => {
        const base = { seq: asSeq(event.seq), nick: asNick(event.nick), at: event.at };
        const input: EngineInput =
          event.type === 'message'
            ? { kind: 'message', ...base, data: event.data as Uint8Array }
            : event.type === 'left'
              ? { kind: 'left', ...base }
              : event.nick === nick
                ? { kind: 'joined', ...base, membersBefore: membersBefore.map(asNick) }
                : { kind: 'joined', ...base };
        run(engine.handle(input));
      },
      onState: () => undefined,
      onLost: () => undefined,
    },
  );
  link.start();
  return {
    engine,
    events,
    close: () => {
      for (const t of timers.values()) clearTimeout(t);
      link?.close();
    },
  };
}
