/**
 * Environment parsing shared by both services. Each service declares its own typed config by calling
 * these readers once at boot; every bad variable is collected and reported together, by name, so an
 * operator fixes them all in one go instead of one restart per typo.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export type Env = Record<string, string | undefined>;

export class EnvReader {
  readonly #env: Env;
  readonly #problems: string[] = [];

  constructor(env: Env) {
    this.#env = env;
  }

  #raw(name: string): string | undefined {
    const value = this.#env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  }

  string(name: string, fallback: string): string;
  string(name: string): string | undefined;
  string(name: string, fallback?: string): string | undefined {
    return this.#raw(name) ?? fallback;
  }

  required(name: string): string {
    const value = this.#raw(name);
    if (value === undefined) {
      this.#problems.push(`${name} is required`);
      return '';
    }
    return value;
  }

  int(name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value)) {
      this.#problems.push(`${name} must be an integer (got "${raw}")`);
      return fallback;
    }
    if (range.min !== undefined && value < range.min) {
      this.#problems.push(`${name} must be >= ${range.min} (got ${value})`);
    } else if (range.max !== undefined && value > range.max) {
      this.#problems.push(`${name} must be <= ${range.max} (got ${value})`);
    }
    return value;
  }

  bool(name: string, fallback: boolean): boolean {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    this.#problems.push(`${name} must be true or false (got "${raw}")`);
    return fallback;
  }

  url(name: string, fallback: string): string;
  url(name: string): string | undefined;
  url(name: string, fallback?: string): string | undefined {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    try {
      new URL(raw);
      return raw;
    } catch {
      this.#problems.push(`${name} must be an absolute URL (got "${raw}")`);
      return fallback;
    }
  }

  oneOf<const T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      this.#problems.push(`${name} must be one of ${allowed.join(', ')} (got "${raw}")`);
      return fallback;
    }
    return raw as T;
  }

  list(name: string, fallback: string[]): string[] {
    const raw = this.#raw(name);
    if (raw === undefined) return fallback;
    return raw
      .split(/[\s,]+/)
      .map((item) => item.trim())
      .filter(Boolean);
  }

  /** Records a problem found by a cross-field check of the caller. */
  problem(message: string): void {
    this.#problems.push(message);
  }

  /** Throws a ConfigError naming every bad variable, or returns the value deep-frozen. */
  finish<T extends object>(config: T): Readonly<T> {
    if (this.#problems.length > 0) throw new ConfigError(this.#problems);
    return deepFreeze(config);
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
