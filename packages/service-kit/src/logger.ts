import pino, { type Logger } from 'pino';

/**
 * One JSON line per event. Paths that may carry credentials are redacted at the logger so that a
 * careless `log.info({ req })` cannot leak them either.
 */
export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      messageKey: 'msg',
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          '*.password',
          '*.client_secret',
          '*.access_token',
          '*.token',
          'password',
          'client_secret',
          'access_token',
          'token',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
