// Waiting in tests for something that has no event to await: a process
// registering in Redis, a file appearing, a count reaching a number.

/**
 * Polls `check` until it returns something truthy, and returns that; throws,
 * naming what it waited for, when `timeoutMs` runs out.
 */
export async function until<T>(what: string, timeoutMs: number, check: () => T | Promise<T>): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (let pause = 10; ; pause = Math.min(pause * 1.5, 100)) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}
