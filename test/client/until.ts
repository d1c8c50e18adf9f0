// Polls `check` until it returns something truthy, every `pollMs`, failing after `ms`.
export async function pollUntil<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms: number,
  pollMs: number,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
