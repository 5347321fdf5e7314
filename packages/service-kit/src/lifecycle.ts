import { ConfigError } from './config.ts';

/**
 * What a service opened, closed in reverse order: used while starting (a step that fails closes
 * everything opened before it, so a failed start leaks no database, bus or port) and to stop.
 */
export class Resources {
  readonly #closers: (() => Promise<void> | void)[] = [];

  /** Registers how to close something just opened; returns it for chaining. */
  add<T>(resource: T, close: (resource: T) => Promise<void> | void): T {
    this.#closers.push(() => close(resource));
    return resource;
  }

  /** Closes everything, newest first; one failing closer does not keep the others open. */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    while (this.#closers.length > 0) {
      const close = this.#closers.pop()!;
      try {
        await close();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, 'several resources failed to close');
  }

  /** Runs the start-up steps; when one throws, closes what the earlier ones opened and rethrows. */
  async starting<T>(steps: () => Promise<T>): Promise<T> {
    try {
      return await steps();
    } catch (error) {
      await this.close().catch(() => {});
      throw error;
    }
  }
}

export interface RunnableService {
  close(): Promise<void>;
}

/** The parts of `process` runService uses (a test passes its own). */
export interface ServiceProcess {
  once(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  exit(code: number): void;
  stderr: { write(text: string): unknown };
}

/**
 * A service's `main.ts`: starts it, and on SIGINT/SIGTERM closes it (in-flight requests finish) and
 * exits 0. A close that fails exits 1; one that takes longer than `forceExitMs` is cut off (exit 1),
 * as is a second signal. A start that fails exits 2 for a configuration error (its message, no stack)
 * and 1 otherwise; what the start had opened it closes itself (see Resources).
 */
export async function runService<S extends RunnableService>(
  name: string,
  start: () => Promise<S>,
  options: {
    forceExitMs?: number;
    /** Where the service logs (the shutdown is logged there, with its signal). */
    logger?: (service: S) => { info(detail: object, message: string): void };
    process?: ServiceProcess;
  } = {},
): Promise<void> {
  const proc: ServiceProcess = options.process ?? process;
  const forceExitMs = options.forceExitMs ?? 10_000;
  let service: S;
  try {
    service = await start();
  } catch (error) {
    if (error instanceof ConfigError) {
      proc.stderr.write(`${name}: ${error.message}\n`);
      proc.exit(2);
      return;
    }
    proc.stderr.write(
      `${name}: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    proc.exit(1);
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      proc.exit(1);
      return;
    }
    stopping = true;
    options.logger?.(service).info({ event: 'shutdown', signal }, 'shutting down');
    const force = setTimeout(() => {
      proc.stderr.write(`${name}: still closing after ${forceExitMs} ms; exiting\n`);
      proc.exit(1);
    }, forceExitMs);
    force.unref();
    service.close().then(
      () => {
        clearTimeout(force);
        proc.exit(0);
      },
      (error: unknown) => {
        clearTimeout(force);
        proc.stderr.write(
          `${name}: shutdown failed: ${error instanceof Error ? error.message : String(error)}\n`,
        );
        proc.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // once, twice: the second signal of the same kind must also reach `stop` (forced exit).
    const listen = () =>
      proc.once(signal, () => {
        listen();
        stop(signal);
      });
    listen();
  }
}
