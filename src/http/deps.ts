/**
 * What the HTTP layer is given: a type-only module, so app.ts and the modules it wires (info.ts,
 * invocations.ts) share the shape without importing each other.
 */
import type { Config } from '../config';
import type { ServerState } from './state';

export interface AppDeps {
  readonly config: Config;
  readonly state: ServerState;
  readonly version: string;
}
