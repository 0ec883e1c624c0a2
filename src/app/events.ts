/** Typed progress events emitted by use cases. They never carry secrets. */
export type StepName =
  | "validate"
  | "connect"
  | "place"
  | "prepare"
  | "render"
  | "upload"
  | "start"
  | "healthy"
  | "record"
  | "check-docker"
  | "sweep"
  | "restart"
  | "stop"
  | "destroy"
  | "inspect"
  | "stage"
  | "rollback"
  | "logs"
  | "reconcile"
  | "prune"
  | "alert"
  | "report"
  | "backup"
  | "verify"
  | "restore";

export type FleetEvent =
  | { type: "step-start"; step: StepName; host?: string; customerId?: string; at: number }
  | { type: "step-done"; step: StepName; host?: string; customerId?: string; at: number; durationMs: number; detail?: string }
  | { type: "step-fail"; step: StepName; host?: string; customerId?: string; at: number; durationMs: number; detail: string }
  | { type: "warn"; message: string; host?: string; customerId?: string; at: number }
  | { type: "remote-line"; host: string; stream: "stdout" | "stderr"; line: string; at: number }
  /** Bytes moved so far by a long transfer (backup, restore), at most a few times a second. */
  | { type: "progress"; step: StepName; host?: string; customerId?: string; bytes: number; at: number }
  /**
   * A remote run waits for a free slot: behind `position - 1` others in this process (per host or
   * overall), or behind `position` runs that other processes hold on the host.
   */
  | { type: "queued"; host: string; customerId?: string; position: number; waitingFor: "host" | "overall" | "other-processes"; at: number };

export type EventSink = (event: FleetEvent) => void;

/** Runs `fn` as a named step, emitting start/done/fail with timings. */
export async function step<T>(
  sink: EventSink,
  name: StepName,
  ctx: { host?: string; customerId?: string; detail?: (r: T) => string | undefined },
  fn: () => Promise<T>,
): Promise<T> {
  const started = Date.now();
  sink({ type: "step-start", step: name, host: ctx.host, customerId: ctx.customerId, at: started });
  try {
    const result = await fn();
    const at = Date.now();
    sink({ type: "step-done", step: name, host: ctx.host, customerId: ctx.customerId, at, durationMs: at - started, detail: ctx.detail?.(result) });
    return result;
  } catch (err) {
    const at = Date.now();
    const detail = err instanceof Error ? err.message : String(err);
    sink({ type: "step-fail", step: name, host: ctx.host, customerId: ctx.customerId, at, durationMs: at - started, detail });
    throw err;
  }
}
