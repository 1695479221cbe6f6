/**
 * Runs `work` on every item, at most `limit` at once, items taken in order (the S3 transfers:
 * objects of a download or upload, byte ranges of one object). After the first failure no item
 * starts; those running finish, `onFailure` runs after each failure (e.g. to save progress), and
 * the first failure is thrown.
 */
export async function boundedEach<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>, onFailure?: () => Promise<void>): Promise<void> {
  const queue = [...items];
  let failure: { e: unknown } | undefined;
  const lane = async (): Promise<void> => {
    for (let item = queue.shift(); item !== undefined && failure === undefined; item = queue.shift()) {
      try {
        await work(item);
      } catch (e) {
        failure ??= { e };
        if (onFailure) await onFailure();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, queue.length) }, lane));
  if (failure !== undefined) throw failure.e;
}
