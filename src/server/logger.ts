// pino JSON logs shaped like etcd's (level as text, ISO time in "ts", message in "msg").
import { pino, type Logger } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'panic', 'fatal'] as const;

export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino({
    level: level === 'panic' ? 'fatal' : level,
    messageKey: 'msg',
    timestamp: () => `,"ts":"${new Date().toISOString()}"`,
    base: bindings,
    formatters: { level: (label) => ({ level: label }) },
  });
}
