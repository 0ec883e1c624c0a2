import http from "node:http";
import type { AddressInfo } from "node:net";
import { InputError } from "../../errors.js";
import type { Metrics } from "./registry.js";

/** `[ADDR:]PORT`; a bare port listens on 127.0.0.1 only. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[^:]+):)?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new InputError(`--metrics-listen expects [ADDR:]PORT, got ${JSON.stringify(value)}`, "for example 9464 (127.0.0.1 only) or 0.0.0.0:9464");
  return { host: (m[1] ?? "127.0.0.1").replace(/^\[|\]$/g, ""), port };
}

export interface MetricsServer {
  /** Where it listens, e.g. 127.0.0.1:9464. */
  readonly address: string;
  close(): Promise<void>;
}

/** /metrics in the Prometheus text format; /healthz 200 only while the last good sweep is recent. */
export async function serveMetrics(m: Metrics, listen: string, health: () => { ok: boolean; lastSweepAt: string | null; ageSeconds: number | null; maxAgeSeconds: number }): Promise<MetricsServer> {
  const { host, port } = parseListen(listen);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return void res.writeHead(405, { allow: "GET, HEAD" }).end();
    if (path === "/metrics") {
      m.registry.metrics().then(
        (text) => res.writeHead(200, { "content-type": m.registry.contentType }).end(text),
        (err) => res.writeHead(500, { "content-type": "text/plain" }).end(`metrics failed: ${(err as Error).message}\n`),
      );
      return;
    }
    if (path === "/healthz") {
      const h = health();
      return void res.writeHead(h.ok ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify(h) + "\n");
    }
    res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics or /healthz\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) =>
      reject(new InputError(`--metrics-listen ${host}:${port}: ${err.code === "EADDRINUSE" ? "the address is already in use" : err.message}`, "pick another port, or stop what listens there")),
    );
    server.listen(port, host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
