// One room's outbox: messages typed but not yet ordered by the relay. A message is 'sending'
// from the moment the user sends it until the relay's reflection of it comes back (then it is in
// the history, and leaves the outbox), or 'failed' when it could not go out (not connected, the
// relay refused it or did not answer), with Retry. Rows live in the store, sealed, so a restart
// loses nothing (sending rows come back failed, see Store.failPendingOutbox).
import { randomBytes } from 'node:crypto';
import type { PendingMessage } from '../../src-shared/api';
import type { OutboxRecord, RoomId, Store } from '../store';
import { ApiFailure } from './errors';

const MAX_REMEMBERED = 256;

const view = (r: OutboxRecord): PendingMessage => ({
  id: r.id,
  text: r.body,
  at: r.createdAt,
  state: r.state,
  error: r.error,
});

export class Outbox {
  /** Relay seq -> outbox id, from the relay's acknowledgements. */
  private readonly bySeq = new Map<number, string>();
  /** Own messages reflected before their acknowledgement arrived. */
  private readonly reflected = new Set<number>();

  constructor(
    private readonly store: Store,
    private readonly roomId: RoomId,
    private readonly changed: (pending: PendingMessage[]) => void,
  ) {}

  list(): PendingMessage[] {
    return this.store.listOutbox(this.roomId).map(view);
  }

  add(text: string): PendingMessage {
    const id = randomBytes(12).toString('base64url');
    this.store.addOutbox(this.roomId, id, text);
    const added = this.store.listOutbox(this.roomId).find((r) => r.id === id);
    this.notify();
    return view(added as OutboxRecord);
  }

  /** A failed message goes out again: its text, or the API's error when there is none. */
  resend(id: string): string {
    const row = this.store.listOutbox(this.roomId).find((r) => r.id === id);
    if (!row) throw new ApiFailure('BAD_ARGUMENT', 'that message is no longer waiting to be sent');
    if (row.state !== 'failed') throw new ApiFailure('BAD_ARGUMENT', 'that message is being sent');
    this.store.setOutboxState(this.roomId, id, 'sending', null);
    this.notify();
    return row.body;
  }

  discard(id: string): void {
    if (!this.store.removeOutbox(this.roomId, id)) {
      throw new ApiFailure('BAD_ARGUMENT', 'that message is no longer waiting to be sent');
    }
    this.notify();
  }

  failed(id: string, error: string): void {
    if (this.store.setOutboxState(this.roomId, id, 'failed', error)) this.notify();
  }

  /** The relay ordered the message at `seq`. */
  acknowledged(id: string, seq: number): void {
    if (this.reflected.delete(seq)) {
      this.remove(id);
      return;
    }
    this.bySeq.set(seq, id);
    if (this.bySeq.size > MAX_REMEMBERED)
      this.bySeq.delete(this.bySeq.keys().next().value as number);
  }

  /** Our own message came back from the relay at `seq`: it is sent. */
  ownReflected(seq: number, text: string): void {
    const id =
      this.bySeq.get(seq) ??
      // No acknowledgement (it timed out, or the app restarted): the oldest row with this text.
      this.store.listOutbox(this.roomId).find((r) => r.body === text)?.id;
    this.bySeq.delete(seq);
    if (id) this.remove(id);
    else {
      this.reflected.add(seq);
      if (this.reflected.size > MAX_REMEMBERED) {
        this.reflected.delete(this.reflected.values().next().value as number);
      }
    }
  }

  private remove(id: string): void {
    if (this.store.removeOutbox(this.roomId, id)) this.notify();
  }

  private notify(): void {
    this.changed(this.list());
  }
}
