import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSweep, sweepScript } from "../../../../src/remote/commands/health.js";

// The sweep script runs for real under sh: a fake Engine API on a unix socket (serving a real
// `inspect` captured from Docker), a fake `docker` CLI for the fallback, and real loopback gateways.
const fixture = readFileSync(path.resolve("test/fixtures/health/inspect-healthy.json"), "utf8");
const servers: http.Server[] = [];
let okPort = 0;
let badPort = 0;
let socket = "";
let bin = "";

async function listen(server: http.Server, where: number | string): Promise<http.Server> {
  servers.push(server);
  await new Promise<void>((r) => (typeof where === "string" ? server.listen(where, r) : server.listen(where, "127.0.0.1", r)));
  return server;
}

beforeAll(async () => {
  okPort = ((await listen(http.createServer((q, s) => s.writeHead(q.url === "/healthz" ? 200 : 404).end("ok")), 0)).address() as AddressInfo).port;
  badPort = ((await listen(http.createServer((_q, s) => s.writeHead(500).end("no")), 0)).address() as AddressInfo).port;
  const dir = mkdtempSync(path.join(os.tmpdir(), "cf-sweep-"));
  socket = path.join(dir, "docker.sock");
  await listen(
    http.createServer((q, s) => {
      const name = /\/v1\.41\/containers\/([^/]+)\/json/.exec(q.url ?? "")?.[1];
      if (name === "cf-good") return s.writeHead(200, { "content-type": "application/json" }).end(fixture);
      if (name === "cf-bad") return s.writeHead(200).end(fixture.replaceAll('"good"', '"bad"').replace('"Status":"healthy"', '"Status":"unhealthy"').replace('"RestartCount":0', '"RestartCount":2'));
      s.writeHead(404).end(`{"message":"No such container: ${name}"}\n`);
    }),
    socket,
  );
  writeFileSync(path.join(dir, "docker"), [
    "#!/bin/sh",
    'for a in "$@"; do case "$a" in',
    "  cf-good) echo 'C|true|good|running|healthy|0|2026-11-24T00:00:00Z|0' ;;",
    "  cf-bad) echo 'C|true|bad|running|unhealthy|2|2026-11-24T00:00:00Z|0' ;;",
    "  cf-gone) echo 'Error: No such object: cf-gone' >&2 ;;",
    "esac; done",
  ].join("\n"));
  chmodSync(path.join(dir, "docker"), 0o755);
  bin = dir;
});
afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

/** A PATH with the fake docker and only the named tools, so each fallback can be forced. */
function pathWith(tools: string[]): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cf-sweep-path-"));
  for (const t of ["timeout", "grep", ...tools]) symlinkSync(`/usr/bin/${t}`, path.join(dir, t));
  return `${bin}:${dir}`;
}

const run = (script: string, PATH: string) =>
  new Promise<string>((resolve) => execFile("/bin/sh", ["-c", script], { env: { PATH } }, (_e, stdout) => resolve(stdout)));

const targets = () => [
  { customerId: "good", gatewayPort: okPort },
  { customerId: "bad", gatewayPort: badPort },
  { customerId: "gone", gatewayPort: 1 },
];

describe("sweepScript + parseSweep", () => {
  it("is one Engine API curl (or one docker inspect) for all containers, then every probe from one bash", () => {
    const s = sweepScript(targets(), { dockerSocket: socket });
    expect(s.match(/curl -s -m 5 --unix-socket/g)).toHaveLength(1);
    expect(s).toContain("'http://d/v1.41/containers/cf-good/json' 'http://d/v1.41/containers/cf-bad/json'");
    expect(s.match(/docker inspect/g)).toHaveLength(1);
    expect(s).toContain("'cf-good' 'cf-bad' 'cf-gone'");
    expect(s).toContain("bash -c");
  });

  it.each([
    ["the Engine API and bash", ["curl", "bash"], "bash"],
    ["the docker CLI and bash", ["bash"], "bash"],
    ["the Engine API and curl --parallel", ["curl"], "curl"],
    ["the docker CLI and wget", ["wget"], "wget"],
  ])("reports containers, missing ones and probes via %s", async (_name, tools, via) => {
    const out = parseSweep(await run(sweepScript(targets(), { dockerSocket: socket }), pathWith(tools)));
    expect(out.complete).toBe(true);
    expect(out.dockerError).toBeNull();
    expect(out.containers.get("good")).toMatchObject({ managed: true, state: "running", dockerHealth: "healthy", restartCount: 0, exitCode: 0 });
    expect(out.containers.get("good")!.startedAt).toMatch(/^2026-11-24T/);
    expect(out.containers.get("bad")).toMatchObject({ managed: true, dockerHealth: "unhealthy", restartCount: 2 });
    expect([...out.missing]).toEqual(["gone"]);
    expect(out.probes.get(okPort)).toMatchObject({ code: 200, via });
    expect(out.probes.get(badPort)?.code).toBeGreaterThanOrEqual(500);
    expect(out.probes.get(1)?.code).toBe(0);
    if (via !== "wget") expect(out.probes.get(okPort)?.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("never brings the container's environment (the gateway token) back from the host", async () => {
    const stdout = await run(sweepScript(targets(), { dockerSocket: socket }), pathWith(["curl", "bash"]));
    expect(fixture).toContain("fixture-token-must-never-leave-the-host");
    expect(stdout).not.toContain("fixture-token");
    expect(stdout.length).toBeLessThan(1000);
  });

  it("says when the host has no HTTP client at all", async () => {
    const out = parseSweep(await run(sweepScript(targets(), { dockerSocket: socket }), pathWith([])));
    expect(out.noProbeTool).toBe(true);
    expect(out.probes.size).toBe(0);
    expect(out.containers.get("good")?.dockerHealth).toBe("healthy");
  });

  it("keeps Docker's own complaints apart from missing containers", () => {
    const cli = parseSweep("V|2\nCannot connect to the Docker daemon at unix:///var/run/docker.sock.\nEND|\n");
    expect(cli.dockerError).toMatch(/Cannot connect/);
    expect(cli.missing.size).toBe(0);
    const api = parseSweep("V|2\nD|000|http://d/v1.41/containers/cf-a/json\nEND|\n");
    expect(api.dockerError).toBe("cannot reach the Docker Engine socket");
    expect(api.containers.size + api.missing.size).toBe(0);
  });

  it("is incomplete without the end marker; a host with no instances only answers the markers", () => {
    expect(parseSweep("V|2\nC|true|a|running|none|0|x|0\n").complete).toBe(false);
    expect(sweepScript([])).toBe("echo 'V|2'\necho 'END|'");
  });

  it("reads bash latencies in either decimal mark", () => {
    const out = parseSweep("B|80|200|1795486642,021957|1795486642,026323\nB|81|200||\n");
    expect(out.probes.get(80)).toEqual({ code: 200, latencyMs: 4, via: "bash" });
    expect(out.probes.get(81)?.latencyMs).toBeNull();
  });
});
