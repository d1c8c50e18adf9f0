// The sentences users read when someone is blamed (timeline, debug panel, CLI).
import type { BlameCause } from './events';

/** The sentence users read (timeline, debug panel): who, what was wrong, what happened. */
export function blameSentence(
  nick: string,
  cause: BlameCause,
  round: { joiner: string | null; vetoer: string | null; accused?: string | null },
  member: boolean,
): string {
  const outcome = member ? `${nick} was removed` : `${nick} was turned away`;
  switch (cause) {
    case 'wrong-share':
      return `${nick}'s key contribution did not match; ${outcome}`;
    case 'false-veto':
      return `${nick} vetoed ${round.joiner ?? 'a joiner'}, but ${round.joiner ? `${round.joiner}'s` : 'its'} token was correct; ${outcome}`;
    case 'bad-joiner-token':
      return `${nick} sent ${round.vetoer ?? 'a member'} a token that does not verify; ${outcome}`;
    case 'bad-member-token':
      return `${nick} sent ${round.joiner ?? 'the joiner'} a token that does not verify; ${outcome}`;
    case 'false-complaint':
      return `${nick} said ${round.accused ?? 'a member'}'s token was wrong, but it was correct; ${outcome}`;
    case 'bad-reveal':
      return `${nick} revealed a key that is not its own; ${outcome}`;
    case 'no-reveal':
      return `${nick} did not reveal its key for the failed session; ${outcome}`;
    case 'reported-by-majority':
      return `most members reported that ${nick} did not answer or confirmed a different key; ${outcome}`;
  }
}
