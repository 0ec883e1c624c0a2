import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { Alert } from "../../../../src/app/alerts.js";
import { parseWebhookUrl, redactWebhook, webhookSink, type DeliveryResult } from "../../../../src/daemon/alerts/webhook.js";

const alert: Alert = { kind: "quarantine", customerId: "acme", host: "vps-1", reason: "/healthz returned 500", at: "2026-11-24T00:00:00.000Z", attempts: 3 };
let server: http.Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

/** A real loopback receiver that answers with the given statuses in turn. */
async function receiver(statuses: number[]) {
  const got: { body: unknown; attempt: string | undefined; at: number }[] = [];
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      got.push({ body: JSON.parse(body), attempt: req.headers["x-clawfleet-delivery-attempt"] as string, at: Date.now() });
      res.writeHead(statuses[Math.min(got.length - 1, statuses.length - 1)]!).end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
  return { url: new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?token=secret`), got };
}

describe("webhook sink", () => {
  it("POSTs the alert as JSON", async () => {
    const { url, got } = await receiver([204]);
    const results: DeliveryResult[] = [];
    const sink = webhookSink(url, { onResult: (r) => results.push(r) });
    sink.send(alert);
    expect(await sink.drain(5000)).toBe(0);
    expect(got.map((g) => g.body)).toEqual([alert]);
    expect(results).toMatchObject([{ ok: true, attempts: 1 }]);
  });

  it("retries a failing receiver with growing waits, then succeeds", async () => {
    const { url, got } = await receiver([503, 500, 200]);
    const results: DeliveryResult[] = [];
    const sink = webhookSink(url, { retryInitialMs: 50, onResult: (r) => results.push(r) });
    sink.send(alert);
    await sink.drain(5000);
    expect(got.map((g) => g.attempt)).toEqual(["1", "2", "3"]);
    expect(got[2]!.at - got[1]!.at).toBeGreaterThanOrEqual(got[1]!.at - got[0]!.at);
    expect(got[1]!.at - got[0]!.at).toBeGreaterThanOrEqual(45);
    expect(results).toMatchObject([{ ok: true, attempts: 3 }]);
  });

  it("gives up after maxAttempts, and at once on a 4xx", async () => {
    const { url, got } = await receiver([500]);
    const results: DeliveryResult[] = [];
    const sink = webhookSink(url, { retryInitialMs: 10, maxAttempts: 3, onResult: (r) => results.push(r) });
    sink.send(alert);
    await sink.drain(5000);
    expect(got).toHaveLength(3);
    expect(results).toMatchObject([{ ok: false, attempts: 3, error: "HTTP 500" }]);
    const four = webhookSink(url, { retryInitialMs: 10 });
    server!.removeAllListeners("request");
    let calls = 0;
    server!.on("request", (_q, s) => (calls++, s.writeHead(404).end()));
    four.send(alert);
    await four.drain(5000);
    expect(calls).toBe(1);
  });

  it("retries when nobody listens, and close() stops the retrying", async () => {
    const results: DeliveryResult[] = [];
    const sink = webhookSink(new URL("http://127.0.0.1:1/"), { retryInitialMs: 60_000, onResult: (r) => results.push(r) });
    sink.send(alert);
    expect(await sink.drain(300)).toBe(1);
    sink.close();
    expect(await sink.drain(2000)).toBe(0);
    expect(results[0]).toMatchObject({ ok: false });
  });

  it("accepts only http(s) URLs and never shows a URL's path or query", () => {
    expect(() => parseWebhookUrl("ftp://x")).toThrow(/http/);
    expect(() => parseWebhookUrl("not a url")).toThrow(/http/);
    expect(redactWebhook(parseWebhookUrl("https://u:p@hooks.example.com/T0K3N?key=abc"))).toBe("https://hooks.example.com/…");
  });
});
