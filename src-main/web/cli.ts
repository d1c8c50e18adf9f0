// `npm run web -- [--data DIR] [--port P] [--relay URL]`: one user's client runtime, headless,
// with the renderer in any browser. Prints exactly one line on stdout when ready:
// `web ui at http://127.0.0.1:PORT/#token=...`; diagnostics go to stderr.
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ADMISSION_OPTION_ERROR, isAdmissionPolicy } from '../../src-shared/api';
import { startWebHost } from './host';

const USAGE = `usage: npm run web -- [options]
  --data DIR     profile folder (default ~/.local/share/conclave-web)
  --port P       port for the page, 0 for any free one (default 0)
  --relay URL    default relay; without it an embedded relay starts on 127.0.0.1
  --max-file-mb N  largest file sent or received, in MB (default 25)
  --invite LINK  a conclave://join?... invite to offer in the page (joined only once confirmed)
  --admission P  the policy of rooms this user founds: open, knock (default) or invite
  --help
The profile key is kept in DIR/web-host.key unless CONCLAVE_PASSPHRASE is set.`;

function defaultDataDir(): string {
  const base = process.env['XDG_DATA_HOME'] || join(homedir(), '.local', 'share');
  return join(base, 'conclave-web');
}

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        data: { type: 'string' },
        port: { type: 'string', default: '0' },
        relay: { type: 'string' },
        'max-file-mb': { type: 'string' },
        invite: { type: 'string' },
        admission: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port needs a port number\n${USAGE}`);
    return 2;
  }
  const maxFileMb = values['max-file-mb'] === undefined ? undefined : Number(values['max-file-mb']);
  if (maxFileMb !== undefined && !(maxFileMb > 0 && maxFileMb <= 1024)) {
    console.error(`--max-file-mb needs a number of megabytes from 1 to 1024\n${USAGE}`);
    return 2;
  }
  const admission = values.admission;
  if (admission !== undefined && !isAdmissionPolicy(admission)) {
    console.error(`${ADMISSION_OPTION_ERROR}\n${USAGE}`);
    return 2;
  }
  const passphrase = process.env['CONCLAVE_PASSPHRASE'];
  const host = await startWebHost({
    dataDir: resolve(values.data ?? defaultDataDir()),
    port,
    ...(values.relay ? { relayUrl: values.relay } : {}),
    ...(passphrase ? { passphrase } : {}),
    runtime: {
      ...(maxFileMb ? { files: { maxFileBytes: Math.round(maxFileMb * 1024 * 1024) } } : {}),
      ...(admission ? { admission } : {}),
    },
  });
  if (values.invite !== undefined) {
    const offer = host.runtime.offerInvite(values.invite);
    if (offer.error) console.error(`--invite: ${offer.error}`);
  }
  console.log(`web ui at ${host.url}`);
  await new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void host.close().finally(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`web host failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
