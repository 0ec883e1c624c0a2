/** Shared helpers for the health integration tests: instances on the sandbox, a webhook receiver, waiting. */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { expect } from "vitest";
import { runCli } from "./cli.js";
import { sandboxHosts } from "./sandbox.js";

export const IMAGE = "clawfleet-test-gateway:1.0";
export const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();
export const containerOf = (customer: string) => docker("ps", "-aq", "--filter", `label=io.clawfleet.customer=${customer}`);

/** Removes the customers' containers, volumes, networks and instance dirs on every sandbox host. */
export function removeInstances(customers: string[]): void {
  for (const c of customers) {
    const ids = containerOf(c);
    if (ids) docker("rm", "-f", ...ids.split("\n"));
    execFileSync("bash", ["-c", `docker volume rm -f cf-${c}-data >/dev/null 2>&1; docker network rm cf-${c}_default >/dev/null 2>&1; true`]);
    for (const h of sandboxHosts()) rmSync(path.join(h.remoteRoot, "instances", c), { recursive: true, force: true });
  }
}

/** Registers sandbox hosts 1..3 (shared pool) in the database `env` points at. */
export async function addHosts(env: NodeJS.ProcessEnv): Promise<void> {
  for (const h of sandboxHosts().slice(0, 3)) {
    const r = await runCli(["hosts", "add", h.name, "--ssh", `${h.user}@${h.address}:${h.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot, "--shared"], env);
    expect(r.code, r.stderr).toBe(0);
  }
}

export async function provisionFree(env: NodeJS.ProcessEnv, customer: string, host: string): Promise<void> {
  const r = await runCli(["provision", "--customer-id", customer, "--plan", "free", "--host", host, "--image", IMAGE, "--json"], env);
  expect(r.code, r.stderr).toBe(0);
}

/** The test image's switches: /tmp/cf-unhealthy is cleared by a restart, the data-volume one survives it. */
export function makeUnhealthy(customer: string, survivesRestart = false): void {
  docker("exec", `cf-${customer}`, "touch", survivesRestart ? "/home/node/.openclaw/cf-unhealthy" : "/tmp/cf-unhealthy");
}

export function makeHealthy(customer: string): void {
  docker("exec", `cf-${customer}`, "rm", "-f", "/tmp/cf-unhealthy", "/home/node/.openclaw/cf-unhealthy");
}

export function startedAt(customer: string): string {
  return docker("inspect", "--format", "{{.State.StartedAt}}", `cf-${customer}`);
}

/** A real HTTP server on loopback that records every JSON POST. */
export async function webhookReceiver() {
  const received: Record<string, unknown>[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      received.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
  return { url, received, close: () => new Promise<void>((r) => server.close(() => r())) };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
