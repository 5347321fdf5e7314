/** A tiny observable-state base for useSyncExternalStore: immutable snapshots, synchronous notify. */
export class Store<S> {
  #state: S;
  readonly #listeners = new Set<() => void>();

  constructor(initial: S) {
    this.#state = initial;
  }

  readonly getSnapshot = (): S => this.#state;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  };

  protected get state(): S {
    return this.#state;
  }

  protected setState(update: Partial<S> | ((state: S) => S)): void {
    this.#state = typeof update === 'function' ? update(this.#state) : { ...this.#state, ...update };
    for (const listener of this.#listeners) listener();
  }
}
