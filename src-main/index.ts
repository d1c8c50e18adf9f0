// Electron entry. Kept thin on purpose: the client runtime, store and relay live in their own
// folders and are wired in here (issue 5 grows this into the full app shell).
import { app, BrowserWindow, session } from 'electron';
import { join } from 'node:path';
import { secureWindowOptions } from './window-options';

function createWindow(): BrowserWindow {
  const win = new BrowserWindow(
    secureWindowOptions(join(import.meta.dirname, '../preload/index.cjs')),
  );
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (event) => event.preventDefault());
  const devUrl = process.env['ELECTRON_RENDERER_URL'];
  if (devUrl) void win.loadURL(devUrl);
  else void win.loadFile(join(import.meta.dirname, '../renderer/index.html'));
  return win;
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void app.whenReady().then(() => {
    session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false));
    createWindow();
  });
  app.on('window-all-closed', () => app.quit());
}
