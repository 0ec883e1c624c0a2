/** Helpers for the lifecycle integration tests: Docker state on the shared sandbox engine. */
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { sandboxHosts } from "./sandbox.js";

export const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bin/clawfleet.js");

export const docker = (...args: string[]) => execFileSync("docker", args, { encoding: "utf8" }).trim();

/** Container ids of an instance's compose project (running or not). */
export function projectContainers(customer: string): string[] {
  return docker("ps", "-aq", "--no-trunc", "--filter", `label=com.docker.compose.project=cf-${customer}`).split("\n").filter(Boolean);
}

/** The container's environment as Docker holds it; the test reads it to prove which token is in force. */
export function containerEnv(customer: string): string[] {
  return JSON.parse(docker("inspect", "--format", "{{json .Config.Env}}", `cf-${customer}`)) as string[];
}

/** Removes the customers' containers (by label), volumes, networks and instance dirs on every sandbox host. */
export function cleanupCustomers(customers: string[]): void {
  for (const c of customers) {
    const ids = docker("ps", "-aq", "--filter", `label=io.clawfleet.customer=${c}`).split("\n").filter(Boolean);
    if (ids.length) docker("rm", "-f", ...ids);
    execFileSync("bash", ["-c", `docker volume rm -f cf-${c}-data >/dev/null 2>&1; docker network rm cf-${c}_default >/dev/null 2>&1; true`]);
    for (const h of sandboxHosts()) rmSync(path.join(h.remoteRoot, "instances", c), { recursive: true, force: true });
  }
}

export async function waitFor(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
