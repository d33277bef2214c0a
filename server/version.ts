import { readFileSync } from 'node:fs';

/**
 * kvring's version from package.json, found from dist/<part>/ (compiled) or <part>/ (tsx):
 * one place for INFO, results.json and --version.
 */
function readVersion(): string {
  for (const relative of ['../../package.json', '../package.json']) {
    try {
      const parsed = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { name?: unknown; version?: unknown };
      if (parsed.name === 'kvring' && typeof parsed.version === 'string') return parsed.version;
    } catch (err) {
      // Not at this level (ENOENT) or not ours: try the next candidate.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !(err instanceof SyntaxError)) throw err;
    }
  }
  return 'unknown';
}

export const KVRING_VERSION = readVersion();

/** The Redis version kvring answers with where clients check one (HELLO, INFO): the feature set it mirrors. */
export const REDIS_COMPAT_VERSION = '7.0.0';
