import { type Static, Type } from 'typebox';
import { ProblemSchema } from './problems.ts';

/** GET /health and GET /ready of both services. */
export const HealthResponse = Type.Object({ status: Type.Literal('ok') });
export type HealthResponse = Static<typeof HealthResponse>;

export const ReadyResponse = Type.Object({
  status: Type.Literal('ready'),
  checks: Type.Record(Type.String(), Type.String()),
});
export type ReadyResponse = Static<typeof ReadyResponse>;

export const NotReadyResponse = Type.Object(
  { ...ProblemSchema.properties, checks: Type.Record(Type.String(), Type.String()) },
  { additionalProperties: true, description: 'a problem (code not_ready) naming each check' },
);
export type NotReadyResponse = Static<typeof NotReadyResponse>;
