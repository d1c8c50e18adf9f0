import { describe, expect, it } from 'vitest';
import { secureWindowOptions } from '../../src-main/window-options';

describe('secureWindowOptions', () => {
  it('isolates and sandboxes the renderer', () => {
    const prefs = secureWindowOptions('/p/preload.cjs').webPreferences;
    expect(prefs).toMatchObject({
      preload: '/p/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
    });
  });
});
