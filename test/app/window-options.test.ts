import { describe, expect, it, vi } from 'vitest';
import {
  APP_URL,
  denyAllPermissions,
  hardenWebContents,
  isAppUrl,
  secureWindowOptions,
} from '../../src-main/window-options';

describe('secureWindowOptions', () => {
  it('isolates and sandboxes the renderer', () => {
    const prefs = secureWindowOptions('/p/preload.cjs').webPreferences;
    expect(prefs).toMatchObject({
      preload: '/p/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
    });
  });
});

describe('isAppUrl', () => {
  it('trusts only the app scheme and host, or the dev server when one is set', () => {
    expect(isAppUrl(APP_URL)).toBe(true);
    expect(isAppUrl('conclave://app/assets/x.js')).toBe(true);
    expect(isAppUrl('conclave://other/index.html')).toBe(false);
    expect(isAppUrl('file:///index.html')).toBe(false);
    expect(isAppUrl('https://evil.example/')).toBe(false);
    expect(isAppUrl('')).toBe(false);
    expect(isAppUrl('http://localhost:5173/', 'http://localhost:5173')).toBe(true);
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173')).toBe(false);
    expect(isAppUrl('http://localhost:5173/')).toBe(false);
  });
});

describe('hardenWebContents', () => {
  it('denies new windows and prevents navigation, redirects and webviews', () => {
    const listeners = new Map<string, (e: { preventDefault(): void }) => void>();
    let openHandler: ((d: { url: string }) => { action: string }) | undefined;
    hardenWebContents({
      setWindowOpenHandler: (h) => (openHandler = h),
      on: (name, l) => listeners.set(name, l),
    });
    expect(openHandler?.({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    for (const name of [
      'will-navigate',
      'will-frame-navigate',
      'will-redirect',
      'will-attach-webview',
    ]) {
      const event = { preventDefault: vi.fn() };
      listeners.get(name)?.(event);
      expect(event.preventDefault, name).toHaveBeenCalled();
    }
  });
});

describe('denyAllPermissions', () => {
  it('refuses every permission request and check', () => {
    let request: ((c: unknown, p: string, cb: (g: boolean) => void) => void) | undefined;
    let check: (() => boolean) | undefined;
    denyAllPermissions({
      setPermissionRequestHandler: (h) => (request = h),
      setPermissionCheckHandler: (h) => (check = h),
    });
    for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read']) {
      const callback = vi.fn();
      request?.({}, permission, callback);
      expect(callback).toHaveBeenCalledWith(false);
    }
    expect(check?.()).toBe(false);
  });
});
