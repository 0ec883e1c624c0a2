import { readFileSync } from "node:fs";
import path from "node:path";
import type { SweepReport } from "../../app/health/types.js";
import { fleetSnapshot } from "../../app/metrics/fleet.js";
import type { Deps } from "../../app/ports.js";
import { packageRoot } from "../../paths.js";
import { SWEEP_TIMEOUT_MS } from "../../app/health/host.js";
import { instrumentConnector, observeSweep } from "./instrument.js";
import { createMetrics, type Metrics } from "./registry.js";
import { serveMetrics, type MetricsServer } from "./server.js";

export { parseListen } from "./server.js";

/** The daemon's metrics: its instrumented deps, the hooks the facade calls, and the HTTP server. */
export interface DaemonMetrics {
  deps: Deps;
  metrics: Metrics;
  server: MetricsServer;
  onSweep(r: SweepReport): void;
  onSweepError(): void;
  close(): Promise<void>;
}

export async function startDaemonMetrics(deps: Deps, opts: { listen: string; plans: string[]; periodMs: () => number }): Promise<DaemonMetrics> {
  const version = (JSON.parse(readFileSync(path.join(packageRoot, "package.json"), "utf8")) as { version: string }).version;
  const metrics = createMetrics({ version, plans: opts.plans, snapshot: () => fleetSnapshot(deps) });
  await metrics.refresh().catch(() => undefined);
  let last: number | null = null;
  const server = await serveMetrics(metrics, opts.listen, () => {
    // Recent: within two periods plus the time one sweep may take.
    const maxAgeSeconds = Math.round((2 * opts.periodMs() + SWEEP_TIMEOUT_MS) / 1000);
    const ageSeconds = last === null ? null : Math.round((Date.now() - last) / 1000);
    return { ok: ageSeconds !== null && ageSeconds <= maxAgeSeconds, lastSweepAt: last === null ? null : new Date(last).toISOString(), ageSeconds, maxAgeSeconds };
  });
  return {
    deps: { ...deps, connector: instrumentConnector(deps.connector, metrics) },
    metrics,
    server,
    onSweep(r) {
      last = Date.now();
      observeSweep(metrics, r, last);
      void metrics.refresh().catch(() => undefined);
    },
    onSweepError: () => metrics.sweeps.inc({ result: "error" }),
    close: () => server.close(),
  };
}
