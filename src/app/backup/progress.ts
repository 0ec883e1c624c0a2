import type { EventSink, StepName } from "../events.js";

/** A byte-count callback that emits a progress event at most once a second. */
export function throttledProgress(sink: EventSink, step: StepName, host: string, customerId: string, everyMs = 1000): (bytes: number) => void {
  let last = Date.now();
  return (bytes) => {
    const now = Date.now();
    if (now - last < everyMs) return;
    last = now;
    sink({ type: "progress", step, host, customerId, bytes, at: now });
  };
}
