/** Helpers for the backup integration tests: the volume's content as the container sees it, a cuttable link. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { docker } from "./lifecycle-helpers.js";
import { repoRoot, type SandboxHost } from "./sandbox.js";

export const DATA = "/home/node/.openclaw";

/** `path sha256` of every file in the instance's data volume, sorted: equal listings mean equal data. */
export function volumeDigest(customer: string): string {
  return docker("exec", `cf-${customer}`, "sh", "-c", `cd ${DATA} && find . -type f | sort | xargs -r sha256sum`);
}

export function writeData(customer: string, script: string): void {
  docker("exec", `cf-${customer}`, "sh", "-c", `cd ${DATA} && ${script}`);
}

export function containerState(customer: string): { id: string; status: string } {
  const [id, status] = docker("inspect", "--format", "{{.Id}} {{.State.Status}}", `cf-${customer}`).split(" ");
  return { id: id!, status: status! };
}

/** A delay proxy in front of the host's sshd: kill() cuts every connection through it, for real. */
export async function delayProxy(h: SandboxHost, rttMs: number): Promise<{ port: number; child: ChildProcess; kill(): void }> {
  const child = spawn(process.execPath, [path.join(repoRoot, "scripts/delay-proxy.mjs"), "--listen", "127.0.0.1:0", "--target", `${h.directAddress}:${h.directPort}`, "--rtt", String(rttMs)]);
  const line: string = await new Promise((ok) => child.stdout!.once("data", (d) => ok(String(d))));
  const port = Number(/:(\d+) ->/.exec(line)![1]);
  return { port, child, kill: () => child.kill("SIGKILL") };
}
