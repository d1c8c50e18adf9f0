// `npm start`: launch the built app in Electron. The Electron binary downloads on first use, which
// needs internet access; where that is impossible we say so and point at the browser host.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let electronPath;
try {
  electronPath = require('electron');
} catch (error) {
  console.error(`Electron is not available: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
}
const child = spawn(electronPath, ['.'], { stdio: 'inherit' });
child.on('exit', (code) => process.exit(code ?? 0));
