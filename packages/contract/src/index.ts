// The platform's shared shapes, one module per area of the contract. Producers use these schemas as their
// route and frame schemas; consumers validate with them, so a change of shape breaks the other side at
// typecheck. This package imports no app.

export * from './chat-read-state.ts';
