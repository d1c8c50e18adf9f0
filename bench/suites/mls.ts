// `bench mls`: the sequential room build with ts-mls alone.
import { describeMachine, fmt } from '../common';
import { mlsTable, runMls } from '../mls';
import type { BenchOutput, Values } from '../suite-kit';
import { finish, num } from '../suite-kit';

export async function mlsSuite(
  values: Values,
  quick: boolean,
  progress: (line: string) => void,
): Promise<BenchOutput> {
  const max = Math.max(1, Math.floor(num(values, 'max', quick ? 4 : 50)));
  const timeLimit = num(values, 'time-limit', 900);
  const machine = describeMachine();
  const mls = await runMls({
    max,
    timeLimitSeconds: timeLimit,
    onStep: (s) => {
      if (s.n % 10 === 0) progress(`mls n=${s.n} ${fmt(s.addSeconds, 3)} s`);
    },
  });
  return {
    report: {
      suite: 'mls',
      machine: finish(machine),
      params: { max, timeLimitSeconds: timeLimit, ciphersuite: mls.summary.ciphersuite },
      results: mls.steps,
      summary: mls.summary,
    },
    markdown: [
      `## mls: ts-mls sequential build to ${max} (${mls.summary.ciphersuite})`,
      mlsTable(mls.steps),
      Object.entries(mls.summary)
        .map(([k, v]) => `- ${k}: ${String(v)}`)
        .join('\n'),
    ].join('\n\n'),
  };
}
