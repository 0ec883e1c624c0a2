import { describe, expect, it } from "vitest";
import { webhookPoster } from "../../../src/notify/webhook.js";

describe("webhookPoster", () => {
  it("POSTs JSON and retries until a 2xx", async () => {
    const calls: RequestInit[] = [];
    let n = 0;
    const fetchFn = (async (_url: string, init: RequestInit) => {
      calls.push(init);
      return new Response(null, { status: ++n < 2 ? 503 : 204 });
    }) as unknown as typeof fetch;
    await webhookPoster("http://127.0.0.1:1/hook", { fetchFn })({ kind: "expired" });
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ method: "POST", body: '{"kind":"expired"}', headers: { "content-type": "application/json" } });
  });

  it("gives up after the last try with the last error", async () => {
    const fetchFn = (async () => new Response("", { status: 500 })) as unknown as typeof fetch;
    await expect(webhookPoster("http://x/", { fetchFn, tries: 2 })({})).rejects.toThrow(/answered 500/);
  });
});
