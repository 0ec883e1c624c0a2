import { request } from "node:https";
import type { HttpsProbe } from "./types.js";

/** node:https behind the HttpsProbe port: one GET, no redirects followed, the body drained and dropped. */
export const httpsProbe: HttpsProbe = {
  get(req) {
    return new Promise((resolve, reject) => {
      const r = request(
        {
          host: req.address,
          port: req.port ?? 443,
          servername: req.servername,
          path: req.path,
          method: "GET",
          headers: { host: req.servername, ...req.headers },
          ...(req.ca ? { ca: req.ca } : {}),
          agent: false,
          timeout: req.timeoutMs ?? 10_000,
        },
        (res) => {
          res.resume();
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join("\n") : String(v);
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers }));
          res.on("error", reject);
        },
      );
      r.on("timeout", () => r.destroy(new Error(`no answer from ${req.address} within ${req.timeoutMs ?? 10_000} ms`)));
      r.on("error", reject);
      r.end();
    });
  },
};
