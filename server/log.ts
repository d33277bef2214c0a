import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The server's logger: pino JSON lines on stderr (stdout carries only the ready line, which the
 * harness parses), or appended to `logFile`. Synchronous destination so that the last lines
 * before an exit are not lost.
 */
export function createLogger(level: string, logFile: string | null): Logger {
  const destination = logFile === null
    ? pino.destination({ fd: 2, sync: true })
    : pino.destination({ dest: logFile, sync: true, mkdir: true });
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, destination);
}
