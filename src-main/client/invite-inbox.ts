// Invites handed to the app from outside the page: a conclave://join link opened in the OS
// (Electron's protocol handler) or given to the browser host's --invite flag. The link is parsed
// here, in the main process, and only ever offered to the user: the page shows a confirmation
// screen and nothing joins until the user presses Join.
import type { InviteOffer } from '../../src-shared/api';
import { parseInvite } from '../../src-shared/invite';
import type { EventBus } from './event-bus';

export class InviteInbox {
  private pending: InviteOffer | null = null;

  constructor(private readonly bus: EventBus) {}

  /** A link from outside; returns the offer (an error when the link is not a usable invite). */
  offer(link: unknown): InviteOffer {
    const parsed = parseInvite(link);
    const offer: InviteOffer = parsed.ok
      ? {
          invite: {
            relayUrl: parsed.invite.relayUrl,
            room: parsed.invite.room,
            token: parsed.invite.token,
            ...(parsed.invite.secret ? { secret: parsed.invite.secret } : {}),
          },
          error: null,
        }
      : { invite: null, error: parsed.error };
    this.pending = offer;
    this.bus.emit({ type: 'invite', offer });
    return offer;
  }

  /** The offer waiting for the page (a page that loads after the link came asks for it). */
  take(): InviteOffer | null {
    const offer = this.pending;
    this.pending = null;
    return offer;
  }
}
