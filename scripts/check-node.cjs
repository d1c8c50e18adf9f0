// Runs first in `npm install`, `npm start` and `npm run web`: on a Node older than 22.12 (better-sqlite3
// crashes on Node 20) stop at once with one line saying what to do. Written for any Node version.
'use strict';
var parts = process.versions.node.split('.').map(Number);
var ok = parts[0] > 22 || (parts[0] === 22 && parts[1] >= 12);
if (!ok) {
  console.error(
    'Conclave needs Node 22.12 or newer, this is Node ' +
      process.versions.node +
      ': install Node 22 (https://nodejs.org, or see "Node 22" in README.md) and run the command again.',
  );
  process.exit(1);
}
