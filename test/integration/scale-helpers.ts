/**
 * The scale-out fixture: many sandbox hosts in one PostgreSQL database, each carrying instance rows
 * backed by real test-gateway containers (host network, only /healthz matters), and the host-side
 * record of every /healthz request those containers served.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import pLimit from "p-limit";
import { loadPlans } from "../../src/domain/plans.js";
import { portsForSlot } from "../../src/domain/ports.js";
import type { Store } from "../../src/store/types.js";
import { docker, IMAGE } from "./health-helpers.js";
import type { SandboxHost } from "./sandbox.js";

const run = promisify(execFile);
export const LABEL = "io.clawfleet.scale-test";
/** Slots from here up, one per row across the whole fleet: every sandbox host shares this machine's ports. */
const SLOT0 = 25;

export interface ScaleRow {
  customerId: string;
  host: string;
  slot: number;
  port: number;
}

/** `perHost` customers on each host; their slots are chosen when their containers start. */
export function scaleCustomers(hosts: SandboxHost[], perHost: number): { customerId: string; host: string }[] {
  return hosts.flatMap((h, i) => Array.from({ length: perHost }, (_, k) => ({ customerId: `scale-h${String(i + 1).padStart(2, "0")}-${k}`, host: h.name })));
}

/** Registers the hosts and the rows (healthy, on their slots) straight through the store. */
export async function seedScale(store: Store, hosts: SandboxHost[], rows: ScaleRow[]): Promise<void> {
  const ids = new Map<string, string>();
  for (const h of hosts) {
    const rec = await store.hosts.create({ name: h.name, address: h.address, port: h.port, user: h.user, identityFile: h.identityFile, hostKey: h.fingerprint, remoteRoot: h.remoteRoot, shared: true, capacityMb: null, dockerOk: true });
    ids.set(h.name, rec.id);
  }
  const now = new Date();
  for (const r of rows) {
    await store.instances.claim({ customerId: r.customerId, hostId: ids.get(r.host)!, plan: "free", image: IMAGE, dedicated: false, leaseOwner: "scale-test", leaseMs: 1, now });
    await store.instances.update(r.customerId, { status: "healthy", portSlot: r.slot, leaseOwner: null, leaseUntil: null });
  }
}

/**
 * One container per customer, named and labelled as provision makes them, serving on its gateway
 * port. Slots are fleet-wide distinct, as every sandbox host shares this machine's ports, and on
 * templates/plans.yaml's grid; ports some socket holds now (even in TIME_WAIT) are skipped. The
 * gateway retries its bind inside the container, so a port taken in between costs a second, not an
 * exit: Docker 20.10 can deadlock when many host-network containers exit at once (moby#46661).
 */
export async function startScaleContainers(wanted: { customerId: string; host: string }[]): Promise<ScaleRow[]> {
  removeScaleContainers();
  const plans = await loadPlans();
  const busy = new Set((await run("ss", ["-tanH"])).stdout.split("\n").map((l) => Number(/:(\d+)$/.exec(l.split(/\s+/)[3] ?? "")?.[1])));
  let next = SLOT0;
  const slot = () => {
    for (;;) {
      const s = next++;
      const port = portsForSlot(s, plans.basePort, plans.portStep).gateway;
      if (!busy.has(port)) return { slot: s, port };
    }
  };
  const rows: ScaleRow[] = wanted.map((w) => ({ ...w, ...slot() }));
  const limit = pLimit(4);
  await Promise.all(
    rows.map((r) =>
      limit(() =>
        run("docker", [
          "run", "-d", "--name", `cf-${r.customerId}`, "--network", "host", "--no-healthcheck", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
          "-e", `CF_TEST_PORT=${r.port}`, "--label", "io.clawfleet.managed=true", "--label", `io.clawfleet.customer=${r.customerId}`,
          "--label", "io.clawfleet.plan=free", "--label", `${LABEL}=true`, "--entrypoint", "sh", IMAGE, "-c", "until /usr/local/bin/cf-gateway; do sleep 1; done",
        ]),
      ),
    ),
  );
  const answers = (r: ScaleRow) => fetch(`http://127.0.0.1:${r.port}/version`, { signal: AbortSignal.timeout(5000) }).then((res) => res.ok, () => false);
  let down = rows;
  const deadline = Date.now() + 90_000; // a TIME_WAIT lasts 60 s
  while (down.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const up = await Promise.all(down.map(answers));
    down = down.filter((_, i) => !up[i]);
  }
  if (down.length > 0) throw new Error(`scale containers not answering: ${down.map((r) => `${r.customerId} on ${r.port}`).join(", ")}`);
  return rows;
}

/** One at a time, for the same Docker deadlock. */
export function removeScaleContainers(): void {
  const ids = docker("ps", "-aq", "--filter", `label=${LABEL}=true`);
  for (const id of ids ? ids.split("\n") : []) docker("rm", "-f", id);
}

/** When each /healthz request reached the container, by Docker's own log timestamps (ms). */
export async function healthzTimes(customerId: string): Promise<number[]> {
  const { stdout } = await run("docker", ["logs", "-t", `cf-${customerId}`], { maxBuffer: 16 << 20 });
  return stdout
    .split("\n")
    .filter((l) => l.includes("GET /healthz "))
    .map((l) => Date.parse(l.slice(0, 23) + "Z"));
}
