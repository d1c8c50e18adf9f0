// conclave://join links handed to the desktop app by the OS: on the command line of the first
// launch or of a second instance (Windows, Linux), or as an 'open-url' event (macOS). The link
// is only taken from argv as a whole argument that starts with the invite prefix; its content is
// then parsed by src-shared/invite.ts and offered for confirmation, never joined directly.
import { INVITE_PREFIX, MAX_INVITE_TEXT } from '../src-shared/invite';

export const INVITE_SCHEME = 'conclave';

/** The invite link among command-line arguments, or null. */
export function inviteArg(argv: readonly unknown[]): string | null {
  for (const arg of argv.slice(0, 64)) {
    if (typeof arg !== 'string' || arg.length > MAX_INVITE_TEXT * 2) continue;
    if (arg.toLowerCase().startsWith(INVITE_PREFIX)) return arg;
  }
  return null;
}

interface ProtocolApp {
  setAsDefaultProtocolClient(protocol: string, path?: string, args?: string[]): boolean;
}

/**
 * Registers the app as the handler of conclave: links. A development run (`electron .`) must
 * pass its own entry script, or the OS would start a bare Electron for a link.
 */
export function registerInviteScheme(
  app: ProtocolApp,
  processInfo: { defaultApp?: boolean; execPath: string; argv: readonly string[] },
): boolean {
  if (processInfo.defaultApp) {
    const entry = processInfo.argv[1];
    return entry
      ? app.setAsDefaultProtocolClient(INVITE_SCHEME, processInfo.execPath, [entry])
      : false;
  }
  return app.setAsDefaultProtocolClient(INVITE_SCHEME);
}
