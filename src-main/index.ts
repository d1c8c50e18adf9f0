// Electron entry. Kept thin: the client runtime, store and relay live in their own folders; this
// file wires them to a hardened window. The renderer is served from the privileged conclave://
// scheme (so the file:// extra privileges can be fused off), talks to the runtime only through
// the validated IPC of src-main/ipc, and gets client events pushed on one channel.
import {
  app,
  BrowserWindow,
  dialog,
  ipcMain,
  Menu,
  Notification,
  protocol,
  safeStorage,
  session,
} from 'electron';
import { join } from 'node:path';
import { resolve } from 'node:path';
import type { ApiArg, ClientEvent, RoomSummary } from '../src-shared/api';
import { createClientRuntime, type ClientRuntime } from './client/runtime';
import { cryptoBackendFromEnv } from './host/crypto-choice';
import { inviteArg, registerInviteScheme } from './invite-links';
import { createDispatch } from './ipc/dispatch';
import { notificationFor } from './ipc/notifications';
import { forwardEvent, registerIpc } from './ipc/register';
import { loadShellSettings } from './ipc/settings';
import { startEmbeddedRelay, type EmbeddedRelay } from './host/embedded-relay';
import { rendererCsp, staticResponse } from './host/static-files';
import {
  APP_HOST,
  APP_SCHEME,
  APP_URL,
  denyAllPermissions,
  hardenWebContents,
  isAppUrl,
  secureWindowOptions,
} from './window-options';

export interface Shell {
  runtime: ClientRuntime;
  relay: EmbeddedRelay | null;
  window(): BrowserWindow | null;
  shutdown(): Promise<void>;
}

const devUrl = process.env['ELECTRON_RENDERER_URL'];
const rendererDir = join(import.meta.dirname, '../renderer');
const isTrusted = (url: string) => isAppUrl(url, devUrl);

// Standard and secure so the page gets a real origin and storage; supportFetchAPI so Chromium
// loads the ES module scripts from it. Not corsEnabled: no other origin may read these files.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

let mainWindow: BrowserWindow | null = null;
/** Invite links that arrived before the runtime was up (macOS sends them before 'ready'). */
const earlyLinks: string[] = [];
let offerLink: (link: string) => void = (link) => {
  if (earlyLinks.length < 4) earlyLinks.push(link);
};

function showWindow(): void {
  if (!mainWindow) return;
  if (mainWindow.isMinimized()) mainWindow.restore();
  mainWindow.show();
  mainWindow.focus();
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow(
    secureWindowOptions(join(import.meta.dirname, '../preload/index.cjs')),
  );
  hardenWebContents(win.webContents);
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  void win.loadURL(devUrl ?? APP_URL);
  mainWindow = win;
  return win;
}

function serveRenderer(): void {
  const csp = rendererCsp("'none'");
  protocol.handle(APP_SCHEME, (request) => {
    const url = new URL(request.url);
    const r =
      url.host === APP_HOST
        ? staticResponse(rendererDir, url.pathname, csp)
        : staticResponse(rendererDir, '/.none', csp);
    return new Response(new Uint8Array(r.body), { status: r.status, headers: r.headers });
  });
}

function installMenu(): void {
  const toggleDebug = () =>
    mainWindow?.webContents.sendInputEvent({
      type: 'keyDown',
      keyCode: 'D',
      modifiers: ['control', 'shift'],
    });
  Menu.setApplicationMenu(
    Menu.buildFromTemplate([
      ...(process.platform === 'darwin' ? [{ role: 'appMenu' as const }] : []),
      { role: 'fileMenu' },
      { role: 'editMenu' },
      {
        label: 'View',
        submenu: [
          // The renderer owns the shortcut; the menu only shows it and sends the same keys.
          {
            label: 'Debug panel',
            accelerator: 'CmdOrCtrl+Shift+D',
            registerAccelerator: false,
            click: toggleDebug,
          },
          { type: 'separator' },
          { role: 'resetZoom' },
          { role: 'zoomIn' },
          { role: 'zoomOut' },
          { role: 'togglefullscreen' },
          ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
        ],
      },
      { role: 'windowMenu' },
    ]),
  );
}

async function startShell(): Promise<Shell> {
  const userData = app.getPath('userData');
  const settings = loadShellSettings(join(userData, 'settings.json'));
  if (process.platform === 'linux' && safeStorage.getSelectedStorageBackend() === 'basic_text') {
    console.warn('conclave: no OS keyring found; the profile key is only obfuscated at rest');
  }
  const relay = settings.relay.embedded
    ? await startEmbeddedRelay({
        exposeOnLan: settings.relay.exposeOnLan,
        port: settings.relay.port,
      })
    : null;
  // What the renderer has on screen; it reports every change (viewState).
  let view: ApiArg<'viewState'> = { roomId: null, focused: true, unread: 0 };
  try {
    const runtime = await createClientRuntime({
      dataDir: join(userData, 'profile'),
      safeStorage,
      cryptoBackend: cryptoBackendFromEnv(),
      defaultRelayUrl: relay?.localUrl ?? `http://127.0.0.1:${settings.relay.port}`,
      onViewState: (next) => {
        if (next.unread !== view.unread) app.setBadgeCount(next.unread);
        view = next;
      },
    });
    let rooms: RoomSummary[] = await runtime.handlers.listRooms(null);
    runtime.subscribe((event: ClientEvent) => {
      if (event.type === 'rooms-changed') rooms = event.rooms;
      forwardEvent(mainWindow?.webContents ?? null, event);
      if (event.type !== 'message') return;
      const spec = notificationFor(event, {
        focused: mainWindow?.isFocused() ?? false,
        viewRoomId: view.roomId,
        rooms,
        settings: runtime.settings.get(),
      });
      if (spec && Notification.isSupported()) {
        const note = new Notification({ title: spec.title, body: spec.body });
        note.on('click', showWindow);
        note.show();
      }
    });
    // Invite links from the OS are offered to the page, which asks the user to confirm.
    offerLink = (link) => {
      runtime.offerInvite(link);
      showWindow();
    };
    for (const link of earlyLinks.splice(0)) offerLink(link);
    let stopping: Promise<void> | undefined;
    return {
      runtime,
      relay,
      window: () => mainWindow,
      shutdown() {
        stopping ??= runtime.close().then(() => relay?.relay.close());
        return stopping;
      },
    };
  } catch (error) {
    await relay?.relay.close();
    throw error;
  }
}

async function boot(): Promise<Shell | null> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return null;
  }
  app.on('second-instance', (_event, commandLine: string[] | undefined) => {
    showWindow();
    const link = inviteArg(commandLine ?? []);
    if (link) offerLink(link);
  });
  // macOS hands links over as events, possibly before the app is ready.
  app.on('open-url', (event, url: string) => {
    event.preventDefault();
    if (inviteArg([url])) offerLink(url);
  });
  registerInviteScheme(app, {
    defaultApp: process.defaultApp,
    execPath: process.execPath,
    argv: process.argv.map((a, i) => (i === 1 ? resolve(a) : a)),
  });
  const firstLink = inviteArg(process.argv);
  if (firstLink) offerLink(firstLink);
  if (process.platform === 'win32') app.setAppUserModelId('org.conclave.desktop');

  await app.whenReady();
  denyAllPermissions(session.defaultSession);
  serveRenderer();
  const shellPromise = startShell();
  // Calls made while the runtime starts wait for it; a failed start answers with its error.
  registerIpc(
    ipcMain,
    createDispatch(async () => (await shellPromise).runtime.handlers),
    isTrusted,
  );
  installMenu();
  createWindow();

  let shell: Shell;
  try {
    shell = await shellPromise;
  } catch (error) {
    dialog.showErrorBox(
      'Conclave could not start',
      error instanceof Error ? error.message : String(error),
    );
    app.quit();
    return null;
  }
  app.on('activate', () => {
    if (!mainWindow) createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  let cleaned = false;
  app.on('will-quit', (event) => {
    if (cleaned) return;
    event.preventDefault();
    void shell.shutdown().finally(() => {
      cleaned = true;
      app.quit();
    });
  });
  return shell;
}

/** Resolves once the shell runs (null when another instance owns the profile or start failed). */
export const shell: Promise<Shell | null> = boot().catch((error: unknown) => {
  console.error('conclave: the app shell failed to start', error);
  app.quit();
  return null;
});
