/**
 * Runs one job per Deno Worker and starts them at the same instant: each
 * worker posts "ready" once set up and then waits on `go` (an Int32Array
 * word 0 over a SharedArrayBuffer the jobs carry); when all are ready (or
 * one already failed), `go` is set and notified. Returns each worker's
 * result message, in job order; workers are terminated on every path.
 */
export async function startTogether<J, R>(
  url: URL,
  jobs: J[],
  go: SharedArrayBuffer,
  label: string,
): Promise<R[]> {
  const workers = jobs.map(() => new Worker(url, { type: "module" }));
  try {
    const ready: Promise<void>[] = [];
    const done = workers.map((w, i) => {
      let isReady: () => void;
      ready.push(new Promise<void>((r) => isReady = r));
      return new Promise<R>((resolve, reject) => {
        w.onmessage = (e: MessageEvent<R | "ready">) => e.data === "ready" ? isReady() : resolve(e.data as R);
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`${label} ${i} failed: ${e.message}`));
        };
      });
    });
    workers.forEach((w, i) => w.postMessage(jobs[i]));
    await Promise.race([Promise.all(ready), Promise.all(done)]);
    Atomics.store(new Int32Array(go), 0, 1);
    Atomics.notify(new Int32Array(go), 0);
    return await Promise.all(done);
  } finally {
    for (const w of workers) w.terminate();
  }
}
