export * from './database.ts';
export * from './ports.ts';
