// The platform's shared shapes, one module per area of the contract. Producers use these schemas as their
// route and frame schemas; consumers validate with them, so a change of shape breaks the other side at
// typecheck. This package imports no app.

export * from './auth-accounts.ts';
export * from './auth-authorize.ts';
export * from './auth-clients.ts';
export * from './auth-groups.ts';
export * from './auth-identity.ts';
export * from './auth-oauth.ts';
export * from './bus-events.ts';
export * from './chat-live.ts';
export * from './chat-messages.ts';
export * from './chat-read-state.ts';
export * from './common.ts';
export * from './operations.ts';
export * from './problems.ts';
