import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSweep, sweepScript } from "../../../src/remote/commands/health.js";

// The sweep script runs for real under sh, with a fake `docker` and a real loopback HTTP server.
let server: http.Server;
let okPort = 0;
let badPort = 0;
let bin: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const port = (req.socket.address() as AddressInfo).port;
    res.writeHead(port === okPort && req.url === "/healthz" ? 200 : 500).end("x");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  okPort = (server.address() as AddressInfo).port;
  const second = http.createServer((_q, s) => s.writeHead(500).end("no"));
  await new Promise<void>((r) => second.listen(0, "127.0.0.1", r));
  badPort = (second.address() as AddressInfo).port;
  server.on("close", () => second.close());
  bin = mkdtempSync(path.join(os.tmpdir(), "cf-sweep-bin-"));
  writeFileSync(
    path.join(bin, "docker"),
    [
      "#!/bin/sh",
      'for a in "$@"; do case "$a" in',
      "  cf-good) echo 'C|true|good|running|healthy|0|2026-11-24T00:00:00Z|0' ;;",
      "  cf-bad) echo 'C|true|bad|running|unhealthy|2|2026-11-24T00:00:00Z|0' ;;",
      "  cf-gone) echo 'Error: No such object: cf-gone' >&2 ;;",
      "esac; done",
    ].join("\n"),
  );
  chmodSync(path.join(bin, "docker"), 0o755);
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** A PATH holding only the fake docker and the named tools, so fallbacks can be forced. */
function pathWith(tools: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cf-sweep-path-"));
  for (const t of ["sh", "timeout", ...tools]) symlinkSync(`/usr/bin/${t}`.replace("/usr/bin/sh", "/bin/sh"), path.join(dir, t));
  return `${bin}:${dir}`;
}

function run(script: string, PATH: string): Promise<string> {
  return new Promise((resolve) => execFile("/bin/sh", ["-c", script], { env: { PATH } }, (_e, stdout) => resolve(stdout)));
}

const targets = () => [
  { customerId: "good", gatewayPort: okPort },
  { customerId: "bad", gatewayPort: badPort },
  { customerId: "gone", gatewayPort: 1 },
];

describe("sweepScript + parseSweep", () => {
  it("is one docker inspect for all containers and one parallel curl", () => {
    const s = sweepScript(targets());
    expect(s.match(/docker inspect/g)).toHaveLength(1);
    expect(s).toContain("'cf-good' 'cf-bad' 'cf-gone'");
    expect(s).toContain("curl -s -Z");
  });

  it.each([["curl"], ["wget"], ["bash"]])("reports containers, missing ones and probes via %s", async (tool) => {
    const out = parseSweep(await run(sweepScript(targets()), pathWith([tool, "cat"])));
    expect(out.complete).toBe(true);
    expect(out.dockerError).toBeNull();
    expect(out.containers.get("good")).toMatchObject({ managed: true, state: "running", dockerHealth: "healthy" });
    expect(out.containers.get("bad")).toMatchObject({ dockerHealth: "unhealthy", restartCount: 2 });
    expect([...out.missing]).toEqual(["gone"]);
    expect(out.probes.get(okPort)).toMatchObject({ code: 200, via: tool });
    expect(out.probes.get(badPort)?.code).toBeGreaterThanOrEqual(500);
    expect(out.probes.get(1)?.code).toBe(0);
    if (tool === "curl") expect(out.probes.get(okPort)?.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("says when the host has no HTTP client at all", async () => {
    const out = parseSweep(await run(sweepScript(targets()), pathWith([])));
    expect(out.noProbeTool).toBe(true);
    expect(out.probes.size).toBe(0);
  });

  it("keeps Docker's own complaints apart from missing containers", () => {
    const out = parseSweep("V|1\nCannot connect to the Docker daemon at unix:///var/run/docker.sock.\nEND|\n");
    expect(out.dockerError).toMatch(/Cannot connect/);
    expect(out.missing.size).toBe(0);
  });

  it("is incomplete without the end marker, and a host with no instances only answers the markers", async () => {
    expect(parseSweep("V|1\nC|true|a|running|none|0|x|0\n").complete).toBe(false);
    expect(sweepScript([])).toBe("echo 'V|1'\necho 'END|'");
  });
});
