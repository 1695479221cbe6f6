/**
 * What the HTTP layer is given: a type-only module, so app.ts and the modules it wires (info.ts,
 * invocations.ts) share the shape without importing each other.
 */
import type { HttpOptions } from '../config';
import type { ServerState } from './state';

export interface AppDeps {
  /** The HTTP layer's own settings (config.ts settingsOf().http), nothing else of the Config. */
  readonly config: HttpOptions;
  readonly state: ServerState;
  readonly version: string;
}
