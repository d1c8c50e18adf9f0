// The same sequential room build with MLS (RFC 9420) through ts-mls, ciphersuite 1
// (MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519), all members in this process, as a user choosing
// between the two would compare them. Step n adds the n-th member to a group of n - 1:
//
//   1. the joiner generates a KeyPackage (and its signature key pair);
//   2. the committer (the group's creator, member 1) commits an Add with a path update, and
//      puts the ratchet tree in the Welcome (`ratchetTreeExtension`), as a joiner needs it;
//   3. every other existing member decodes and processes the commit (an encrypted
//      PrivateMessage, ts-mls' default), one after the other;
//   4. the joiner decodes the Welcome and joins.
//
// Every message goes through encodeMlsMessage/decodeMlsMessage, so the byte counts are the wire
// sizes. There is no network: MLS needs a delivery service too, and ours costs far less than
// the cryptography measured here (see the relay suite), so this favours MLS slightly.
import type { CiphersuiteImpl, ClientState, KeyPackage, PrivateKeyPackage } from 'ts-mls';
import {
  createCommit,
  createGroup,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  getCiphersuiteFromName,
  getCiphersuiteImpl,
  joinGroup,
  processPrivateMessage,
} from 'ts-mls';
import { fmt, fmtInt, markdownTable, round, sum } from './common';

export const MLS_CIPHERSUITE = 'MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519';

export interface MlsOptions {
  max: number;
  /** Stop adding members once the build has taken this long (the run stays bounded). */
  timeLimitSeconds?: number;
  /** Called after each step (progress on stderr for long runs). */
  onStep?: (step: MlsStep) => void;
}

export interface MlsStep {
  /** Group size after this step (1 = the creator alone). */
  n: number;
  /** Wall time of the whole add: key package, commit, every member's processing, the join. */
  addSeconds: number;
  keyPackageMs: number;
  commitMs: number;
  joinMs: number;
  /** Mean time an existing member other than the committer took to process the commit. */
  perExistingMemberMs: number;
  /** All existing members' processing, summed (the committer's commit excluded). */
  processTotalMs: number;
  commitBytes: number;
  welcomeBytes: number;
  keyPackageBytes: number;
}

export interface MlsSummary {
  ciphersuite: string;
  requestedMax: number;
  reached: number;
  /** True when the time limit stopped the build before `requestedMax`. */
  truncated: boolean;
  totalSeconds: number;
  lastAddSeconds: number;
  lastPerExistingMemberMs: number;
}

interface Member {
  name: string;
  state: ClientState;
}

const encoder = new TextEncoder();

async function keyPackage(
  name: string,
  impl: CiphersuiteImpl,
): Promise<{ publicPackage: KeyPackage; privatePackage: PrivateKeyPackage }> {
  return generateKeyPackage(
    { credentialType: 'basic', identity: encoder.encode(name) },
    defaultCapabilities(),
    defaultLifetime,
    [],
    impl,
  );
}

export async function runMls(
  options: MlsOptions,
): Promise<{ steps: MlsStep[]; summary: MlsSummary }> {
  const impl = await getCiphersuiteImpl(getCiphersuiteFromName(MLS_CIPHERSUITE));
  const steps: MlsStep[] = [];
  const started = performance.now();
  const limitMs = (options.timeLimitSeconds ?? Infinity) * 1000;

  // n = 1: the creator makes the group.
  let t = performance.now();
  const creatorKp = await keyPackage('m1', impl);
  const kpMs = performance.now() - t;
  const creator: Member = {
    name: 'm1',
    state: await createGroup(
      encoder.encode('bench-room'),
      creatorKp.publicPackage,
      creatorKp.privatePackage,
      [],
      impl,
    ),
  };
  const members: Member[] = [creator];
  steps.push({
    n: 1,
    addSeconds: (performance.now() - t) / 1000,
    keyPackageMs: kpMs,
    commitMs: 0,
    joinMs: 0,
    perExistingMemberMs: 0,
    processTotalMs: 0,
    commitBytes: 0,
    welcomeBytes: 0,
    keyPackageBytes: 0,
  });
  options.onStep?.(steps[0] as MlsStep);

  for (let n = 2; n <= options.max; n++) {
    if (performance.now() - started > limitMs) break;
    const name = `m${n}`;
    const addStart = performance.now();

    t = performance.now();
    const kp = await keyPackage(name, impl);
    const kpBytes = encodeMlsMessage({
      keyPackage: kp.publicPackage,
      wireformat: 'mls_key_package',
      version: 'mls10',
    });
    const keyPackageMs = performance.now() - t;

    t = performance.now();
    const received = decodeMlsMessage(kpBytes, 0)?.[0];
    if (received?.wireformat !== 'mls_key_package') throw new Error('expected a key package');
    const result = await createCommit(
      { state: creator.state, cipherSuite: impl },
      {
        extraProposals: [{ proposalType: 'add', add: { keyPackage: received.keyPackage } }],
        ratchetTreeExtension: true,
      },
    );
    creator.state = result.newState;
    if (!result.welcome) throw new Error('an Add commit must produce a Welcome');
    const commitBytes = encodeMlsMessage(result.commit);
    const welcomeBytes = encodeMlsMessage({
      welcome: result.welcome,
      wireformat: 'mls_welcome',
      version: 'mls10',
    });
    const commitMs = performance.now() - t;

    const processMs: number[] = [];
    for (const m of members) {
      if (m === creator) continue;
      t = performance.now();
      const msg = decodeMlsMessage(commitBytes, 0)?.[0];
      if (msg?.wireformat !== 'mls_private_message') throw new Error('expected a private message');
      const out = await processPrivateMessage(m.state, msg.privateMessage, emptyPskIndex, impl);
      if (out.kind !== 'newState') throw new Error('expected the commit to change the state');
      m.state = out.newState;
      processMs.push(performance.now() - t);
    }

    t = performance.now();
    const welcome = decodeMlsMessage(welcomeBytes, 0)?.[0];
    if (welcome?.wireformat !== 'mls_welcome') throw new Error('expected a welcome');
    const state = await joinGroup(
      welcome.welcome,
      kp.publicPackage,
      kp.privatePackage,
      emptyPskIndex,
      impl,
    );
    members.push({ name, state });
    const joinMs = performance.now() - t;

    const epoch = creator.state.groupContext.epoch;
    if (members.some((m) => m.state.groupContext.epoch !== epoch)) {
      throw new Error(`members disagree on the epoch after adding ${name}`);
    }
    const step: MlsStep = {
      n,
      addSeconds: (performance.now() - addStart) / 1000,
      keyPackageMs,
      commitMs,
      joinMs,
      perExistingMemberMs: processMs.length ? sum(processMs) / processMs.length : 0,
      processTotalMs: sum(processMs),
      commitBytes: commitBytes.length,
      welcomeBytes: welcomeBytes.length,
      keyPackageBytes: kpBytes.length,
    };
    steps.push(step);
    options.onStep?.(step);
  }

  const last = steps[steps.length - 1] as MlsStep;
  return {
    steps,
    summary: {
      ciphersuite: MLS_CIPHERSUITE,
      requestedMax: options.max,
      reached: last.n,
      truncated: last.n < options.max,
      totalSeconds: round(sum(steps.map((s) => s.addSeconds)), 3),
      lastAddSeconds: round(last.addSeconds, 4),
      lastPerExistingMemberMs: round(last.perExistingMemberMs, 3),
    },
  };
}

/** Rows at a few sizes (every step is in the JSON). */
export function mlsTable(steps: readonly MlsStep[]): string {
  const rows = pickRows(steps.map((s) => s.n)).map((n) => {
    const s = steps.find((x) => x.n === n) as MlsStep;
    return [
      s.n,
      fmt(s.addSeconds, 3),
      fmt(s.commitMs, 1),
      fmt(s.perExistingMemberMs, 2),
      fmt(s.processTotalMs, 1),
      fmt(s.joinMs, 1),
      fmtInt(s.commitBytes),
      fmtInt(s.welcomeBytes),
    ];
  });
  return markdownTable(
    [
      'n',
      'n-th add s',
      'commit ms',
      'ms per existing member',
      'all members ms',
      'joiner ms',
      'commit bytes',
      'welcome bytes',
    ],
    rows,
  );
}

/** The sizes shown in tables: the first few, every tenth (or so), and the last. */
export function pickRows(ns: readonly number[]): number[] {
  if (ns.length <= 12) return [...ns];
  const last = ns[ns.length - 1] as number;
  const step = last <= 30 ? 5 : 10;
  return ns.filter((n) => n <= 3 || n % step === 0 || n === last);
}
