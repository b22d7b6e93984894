import { type ChildProcess, spawn } from 'node:child_process';
import { STOCK_GROUP_LEASE_TTL_MS } from './stock-workers.js';

/**
 * Resolves with the first SIGINT or SIGTERM this process receives, or when the `warehouse workers`
 * process that started it is gone (its IPC channel closed), so no worker outlives its supervisor.
 */
export function untilSignalled(): Promise<NodeJS.Signals | 'disconnect'> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals | 'disconnect') => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.off('disconnect', onDisconnect);
      resolve(signal);
    };
    const onDisconnect = () => stop('disconnect');
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    if (process.connected) process.on('disconnect', onDisconnect);
  });
}

/** How `runWorkerProcesses` starts each worker: the command line of `warehouse worker`. */
export interface WorkerProcessesOptions {
  readonly count: number;
  /** The arguments after `node`: this script and `worker`. */
  readonly workerArgs: readonly string[];
  readonly print: (line: string) => void;
}

/**
 * Starts `count` worker processes (`warehouse worker`, which print their own lines) and waits.
 * SIGINT or SIGTERM stops them all cleanly (each finishes its batch and hands its partitions over)
 * and resolves true. A worker that ends by itself (killed, crashed) is reported and the others go
 * on: they take its partitions over once its leases lapse. Resolves false when every worker ended
 * without being asked to.
 */
export async function runWorkerProcesses(options: WorkerProcessesOptions): Promise<boolean> {
  const { count, workerArgs, print } = options;
  let stopping = false;
  const children: ChildProcess[] = [];
  const exits = Array.from({ length: count }, () => {
    // The IPC channel is only a lifeline: a worker stops when it closes (this process died).
    const child = spawn(process.execPath, [...workerArgs], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(child);
    return new Promise<void>((resolve) =>
      child.on('exit', (code, signal) => {
        if (!stopping) {
          const how = signal ? `by ${signal}` : `with exit code ${code}`;
          print(
            `workers: worker process ${child.pid} ended ${how}; the others take its partitions over ` +
              `once its leases lapse (${STOCK_GROUP_LEASE_TTL_MS / 1000} s)`,
          );
        }
        resolve();
      }),
    );
  });
  print(
    `workers: started ${count} worker process${count > 1 ? 'es' : ''} (pids ${children.map((c) => c.pid).join(', ')}); ` +
      'Ctrl-C stops them all',
  );
  const allEnded = Promise.all(exits).then(() => 'ended' as const);
  const outcome = await Promise.race([untilSignalled(), allEnded]);
  if (outcome === 'ended') return false;
  stopping = true;
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
  await allEnded;
  print('workers: every worker stopped');
  return true;
}
