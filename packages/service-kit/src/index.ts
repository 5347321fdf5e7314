export * from './bus.ts';
export * from './config.ts';
export * from './db.ts';
export * from './http.ts';
export * from './ids.ts';
export * from './logger.ts';
export * from './problem.ts';
export * from './rate-limit.ts';
