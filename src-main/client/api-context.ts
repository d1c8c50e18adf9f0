// What every API handler works with: the runtime's parts, bound once per runtime
// (api-handlers.ts, team-handlers.ts).
import type { ApiArg } from '../../src-shared/api';
import type { EventBus } from './event-bus';
import type { FileUploads } from './file-uploads';
import type { InviteInbox } from './invite-inbox';
import type { Profile } from './profile';
import type { RoomRegistry } from './room-registry';
import type { SettingsService } from './settings';
import type { VerifyPool } from './verify-pool';

export interface ApiContext {
  profile: Profile;
  rooms: RoomRegistry;
  bus: EventBus;
  verifyPool: VerifyPool | null;
  /** The relay built into the app (or the host's --relay). */
  defaultRelayUrl: string;
  uploads: FileUploads;
  settings: SettingsService;
  invites: InviteInbox;
  /** The host's hook for what the user has in view (Electron: notifications and badge). */
  onViewState?: (view: ApiArg<'viewState'>) => void;
}
