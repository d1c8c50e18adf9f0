// The profile's settings, kept in the profile database (so they follow the profile, and the
// browser host keeps them across restarts like the app does). A stored value that no longer
// validates falls back to its default instead of failing the start.
import * as v from 'valibot';
import type { Settings } from '../../src-shared/api';
import { REKEY_CHOICES_HOURS } from '../../src-shared/api';
import { relayUrlProblem } from '../../src-shared/invite';
import type { Store } from '../store';
import type { EventBus } from './event-bus';

export const DEFAULT_SETTINGS: Settings = {
  theme: 'system',
  notifications: true,
  notificationText: false,
  // A week: new keys for every room at least that often, even in a quiet room (PROTOCOL.md).
  rekeyIntervalHours: 168,
  defaultRelayUrl: null,
};

const FIELDS: { [K in keyof Settings]: v.GenericSchema<unknown, Settings[K]> } = {
  theme: v.picklist(['system', 'light', 'dark']),
  notifications: v.boolean(),
  notificationText: v.boolean(),
  rekeyIntervalHours: v.pipe(
    v.number(),
    v.check((n) => REKEY_CHOICES_HOURS.includes(n)),
  ),
  defaultRelayUrl: v.nullable(
    v.pipe(
      v.string(),
      v.check((s) => relayUrlProblem(s) === null),
    ),
  ),
};

export class SettingsService {
  constructor(
    private readonly store: Store,
    private readonly bus: EventBus,
  ) {}

  get(): Settings {
    const stored = this.store.getSettings();
    const out: Record<string, unknown> = { ...DEFAULT_SETTINGS };
    for (const key of Object.keys(FIELDS) as (keyof Settings)[]) {
      if (!(key in stored)) continue;
      const parsed = v.safeParse(FIELDS[key], stored[key]);
      if (parsed.success) out[key] = parsed.output;
    }
    return out as unknown as Settings;
  }

  update(patch: Partial<Settings>): Settings {
    const values: Record<string, Settings[keyof Settings]> = {};
    for (const key of Object.keys(FIELDS) as (keyof Settings)[]) {
      if (patch[key] !== undefined) values[key] = v.parse(FIELDS[key], patch[key]);
    }
    this.store.setSettings(values);
    const settings = this.get();
    this.bus.emit({ type: 'settings', settings });
    return settings;
  }

  /** What the engines get from the settings; rooms take it when they (re)open. */
  rekeyIntervalMs(): number {
    return this.get().rekeyIntervalHours * 3_600_000;
  }
}
