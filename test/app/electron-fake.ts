// A stand-in for the parts of Electron that src-main/index.ts uses. Plain recorders (not vi.fn,
// whose records Vitest clears between tests), so one boot of the shell can be inspected by
// several tests.
import { EventEmitter } from 'node:events';

type Listener = (...args: unknown[]) => unknown;

export const state = {
  userData: '',
  lockHeld: true,
  focused: true,
  quitCalls: 0,
  errorBoxes: [] as { title: string; content: string }[],
  privilegedSchemes: [] as unknown[],
  protocolHandlers: new Map<string, (request: Request) => Response | Promise<Response>>(),
  ipcHandlers: new Map<string, Listener>(),
  windows: [] as FakeBrowserWindow[],
  notifications: [] as FakeNotification[],
  permissionRequest: null as null | Listener,
  permissionCheck: null as null | Listener,
  menuTemplate: null as unknown,
  appListeners: new Map<string, Listener[]>(),
  readyResolve: (() => {}) as () => void,
  sealCalls: 0,
  unsealCalls: 0,
  protocolClients: [] as { protocol: string; path?: string; args?: string[] }[],
  badgeCounts: [] as number[],
};

export function emitApp(name: string, ...args: unknown[]): void {
  for (const l of state.appListeners.get(name) ?? []) l(...args);
}

const ready = new Promise<void>((resolve) => (state.readyResolve = resolve));

export const app = {
  isPackaged: false,
  requestSingleInstanceLock: () => state.lockHeld,
  quit: () => {
    state.quitCalls += 1;
  },
  on(name: string, listener: Listener) {
    state.appListeners.set(name, [...(state.appListeners.get(name) ?? []), listener]);
    return app;
  },
  whenReady: () => ready,
  getPath: (name: string) => {
    if (name !== 'userData') throw new Error(`unexpected path ${name}`);
    return state.userData;
  },
  setAppUserModelId: () => {},
  setAsDefaultProtocolClient: (protocol: string, path?: string, args?: string[]) => {
    state.protocolClients.push({
      protocol,
      ...(path !== undefined ? { path } : {}),
      ...(args !== undefined ? { args } : {}),
    });
    return true;
  },
  setBadgeCount: (count: number) => {
    state.badgeCounts.push(count);
    return true;
  },
};

class FakeWebContents extends EventEmitter {
  sent: { channel: string; args: unknown[] }[] = [];
  openHandler: ((d: { url: string }) => unknown) | null = null;
  inputEvents: unknown[] = [];
  destroyed = false;
  setWindowOpenHandler(handler: (d: { url: string }) => unknown) {
    this.openHandler = handler;
  }
  send(channel: string, ...args: unknown[]) {
    this.sent.push({ channel, args });
  }
  isDestroyed() {
    return this.destroyed;
  }
  sendInputEvent(event: unknown) {
    this.inputEvents.push(event);
  }
}

export class FakeBrowserWindow extends EventEmitter {
  webContents = new FakeWebContents();
  loaded: string[] = [];
  focusCalls = 0;
  constructor(readonly options: Record<string, unknown>) {
    super();
    state.windows.push(this);
  }
  async loadURL(url: string) {
    this.loaded.push(url);
  }
  isFocused() {
    return state.focused;
  }
  isMinimized() {
    return false;
  }
  restore() {}
  show() {}
  focus() {
    this.focusCalls += 1;
  }
}

export class FakeNotification extends EventEmitter {
  shown = false;
  constructor(readonly options: { title: string; body: string }) {
    super();
    state.notifications.push(this);
  }
  static isSupported() {
    return true;
  }
  show() {
    this.shown = true;
  }
}

export const BrowserWindow = FakeBrowserWindow;
export const Notification = FakeNotification;

export const dialog = {
  showErrorBox: (title: string, content: string) => state.errorBoxes.push({ title, content }),
};

export const ipcMain = {
  handle: (channel: string, listener: Listener) => state.ipcHandlers.set(channel, listener),
  removeHandler: (channel: string) => state.ipcHandlers.delete(channel),
};

export const Menu = {
  buildFromTemplate: (template: unknown) => template,
  setApplicationMenu: (menu: unknown) => {
    state.menuTemplate = menu;
  },
};

export const protocol = {
  registerSchemesAsPrivileged: (schemes: unknown[]) => state.privilegedSchemes.push(...schemes),
  handle: (scheme: string, handler: (request: Request) => Response) =>
    state.protocolHandlers.set(scheme, handler),
};

/** Reversible and recognisable, like the OS key store from the app's point of view. */
export const safeStorage = {
  getSelectedStorageBackend: () => 'gnome_libsecret',
  isEncryptionAvailable: () => true,
  encryptString: (plain: string) => {
    state.sealCalls += 1;
    return Buffer.from(`sealed:${plain}`).reverse();
  },
  decryptString: (sealed: Buffer) => {
    state.unsealCalls += 1;
    return Buffer.from(sealed).reverse().toString().slice(7);
  },
};

export const session = {
  defaultSession: {
    setPermissionRequestHandler: (h: Listener) => (state.permissionRequest = h),
    setPermissionCheckHandler: (h: Listener) => (state.permissionCheck = h),
  },
};
