// Standalone relay: `npm run relay -- --host 127.0.0.1 --port 7438 [--token T] [--redis URL]`.
// Prints exactly one line on stdout once listening (scripts wait for it); everything else is a
// structured pino line on stderr. Flags use node:util parseArgs: the standard library covers
// this small surface, so the relay needs no CLI dependency.
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startRelay, type RelayOptionsInput } from './index';

const USAGE = `usage: npm run relay -- [options]
  --host HOST              interface to bind (default 127.0.0.1)
  --port PORT              port, 0 for any free one (default 7438)
  --token T                require this access token on join (or env CONCLAVE_RELAY_TOKEN)
  --redis URL              share rooms with other nodes via Redis (or env CONCLAVE_RELAY_REDIS)
  --redis-prefix P         Redis key prefix (default conclave:relay:)
  --grace-ms MS            how long a dropped nick stays reserved (default 15000)
  --max-payload BYTES      largest message data (default 65536)
  --rate N                 requests per second per connection (default 100)
  --burst N                request burst per connection (default 200)
  --max-rooms N            rooms per connection (default 32)
  --max-members N          members per room (default 100)
  --retention-count N      events kept per room (default 2000)
  --retention-age-ms MS    age after which events and empty rooms go (default 300000)
  --flush-interval-ms MS   coalesce writes to a client for up to MS under load (default 1)
  --log-level LEVEL        pino level (default info)
  --help`;

class UsageError extends Error {}

function integer(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${name} needs a whole number`);
  return n;
}

function parse(argv: string[]): { options: RelayOptionsInput; logLevel: string } | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: '7438' },
      token: { type: 'string' },
      redis: { type: 'string' },
      'redis-prefix': { type: 'string' },
      'grace-ms': { type: 'string' },
      'max-payload': { type: 'string' },
      rate: { type: 'string' },
      burst: { type: 'string' },
      'max-rooms': { type: 'string' },
      'max-members': { type: 'string' },
      'retention-count': { type: 'string' },
      'retention-age-ms': { type: 'string' },
      'flush-interval-ms': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return 'help';
  const env = process.env;
  const options: RelayOptionsInput = {
    host: values.host,
    port: integer('port', values.port),
    // The environment variable keeps the secret out of `ps` output; the flag is for quick tests.
    token: values.token ?? (env['CONCLAVE_RELAY_TOKEN'] || undefined),
    redisUrl: values.redis ?? (env['CONCLAVE_RELAY_REDIS'] || undefined),
    redisKeyPrefix: values['redis-prefix'],
    graceMs: integer('grace-ms', values['grace-ms']),
    limits: {
      maxPayloadBytes: integer('max-payload', values['max-payload']),
      eventsPerSecond: integer('rate', values.rate),
      burst: integer('burst', values.burst),
      maxRoomsPerConnection: integer('max-rooms', values['max-rooms']),
      maxMembersPerRoom: integer('max-members', values['max-members']),
    },
    retention: {
      count: integer('retention-count', values['retention-count']),
      ageMs: integer('retention-age-ms', values['retention-age-ms']),
    },
    flushIntervalMs: integer('flush-interval-ms', values['flush-interval-ms']),
    processMetrics: true,
  };
  return { options: dropUndefined(options), logLevel: values['log-level'] };
}

/** Nested undefined values would override defaults when spread; drop them. */
function dropUndefined<T extends object>(value: T): T {
  const entries = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, v !== null && typeof v === 'object' ? dropUndefined(v) : v]);
  return Object.fromEntries(entries) as T;
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed === 'help') {
    console.log(USAGE);
    return;
  }
  const logger = pino({ level: parsed.logLevel }, pino.destination({ fd: 2, sync: true }));
  let relay: Awaited<ReturnType<typeof startRelay>>;
  try {
    relay = await startRelay({ ...parsed.options, logger });
  } catch (err) {
    logger.fatal({ err }, 'relay failed to start');
    process.exit(1);
  }
  console.log(`relay listening on ${relay.url}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting at once');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, 10_000);
    relay.close().then(
      () => {
        clearTimeout(deadline);
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
