import type { HttpsProbe, RemoteShell, SshTarget } from "../remote/types.js";
export type { HttpsProbe, HttpsRequest, HttpsResponse } from "../remote/types.js";
import type { Store } from "../store/types.js";
import type { EventSink } from "./events.js";
import type { RunGate } from "./coordination/runs/gate.js";

/** SSH as the use cases need it. The wiring in src/index.ts backs it with the pooled ssh2 transport. */
export interface Connector {
  /** A pooled connection to a registered host, its key checked against the pin. */
  shell(target: SshTarget): Promise<RemoteShell>;
  /** A one-off first contact: with `acceptNew`, any key is accepted and reported. */
  probe(target: SshTarget, opts: { acceptNew: boolean }): Promise<{ fingerprint: string; shell: RemoteShell; close(): void }>;
  /** Drops a host's pooled connection (after a rekey, say). */
  forget(hostName: string): void;
  closeAll(): Promise<void>;
}

export interface Clock {
  now(): Date;
}

/** Everything a use case may touch. Tests pass fakes from test/fakes/. */
export interface Deps {
  store: Store;
  connector: Connector;
  clock: Clock;
  onEvent: EventSink;
  /** Who is acting, for Event rows: "cli:<user>", "billing-api", "health-daemon"… */
  actor: string;
  env: NodeJS.ProcessEnv;
  /** Bounds concurrent remote runs (per host, overall); default: a process-wide gate with the default limits. */
  runs?: RunGate;
  /** HTTPS to hosts' public addresses; only test-deploy uses it. */
  https?: HttpsProbe;
}
