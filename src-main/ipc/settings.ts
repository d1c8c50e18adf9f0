// The shell's own settings (not the profile): a small JSON file next to the profile. Anything
// missing or malformed falls back to the safe default, which keeps the embedded relay on the
// loopback interface; exposing it to the local network is an explicit choice.
import { readFileSync } from 'node:fs';
import * as v from 'valibot';

const Settings = v.object({
  relay: v.optional(
    v.object({
      /** Run a relay inside the app (so the app works alone and local instances can talk). */
      embedded: v.optional(v.boolean(), true),
      /** Listen on every interface instead of 127.0.0.1 only. */
      exposeOnLan: v.optional(v.boolean(), false),
      /** Preferred port; if it is taken a free one is used. */
      port: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(65535)), 7438),
    }),
    {},
  ),
});

export type ShellSettings = v.InferOutput<typeof Settings>;

export const DEFAULT_SETTINGS: ShellSettings = v.parse(Settings, {});

export function parseShellSettings(json: unknown): ShellSettings {
  const parsed = v.safeParse(Settings, json);
  return parsed.success ? parsed.output : DEFAULT_SETTINGS;
}

export function loadShellSettings(file: string): ShellSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return DEFAULT_SETTINGS;
  }
  try {
    return parseShellSettings(JSON.parse(text));
  } catch {
    console.warn(`conclave: ignoring unreadable settings file ${file}`);
    return DEFAULT_SETTINGS;
  }
}
