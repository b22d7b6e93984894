/**
 * Runs `prepare` once, on first use, and shares the result. A failure is not kept: the next call
 * tries again (the server may have come up in the meantime).
 */
export function onFirstUse(prepare: () => Promise<void>): () => Promise<void> {
  let ready: Promise<void> | undefined;
  return () => {
    ready ??= prepare().catch((error: unknown) => {
      ready = undefined;
      throw error;
    });
    return ready;
  };
}
