import { isIP } from "node:net";
import { z } from "zod";
import { HostKeyError, InputError, NotFoundError, ConflictError } from "../../errors.js";
import { parseFingerprint, parseSshSpec } from "../../remote/fingerprint.js";
import { dockerCheckCommand, parseDockerCheck } from "../../remote/commands/host-check.js";
import type { RemoteShell, SshTarget, TransferKind } from "../../remote/types.js";
import type { HostRecord } from "../../store/types.js";
import { step } from "../events.js";
import type { Deps } from "../ports.js";
import { audit } from "../audit/record.js";
import { parseInput } from "../../domain/input.js";

export const HOST_NAME_RE = /^[a-z0-9][a-z0-9.-]{0,62}$/;

const AddHostInput = z.object({
  name: z.string().regex(HOST_NAME_RE, "expected a host name of lowercase letters, digits, dots and dashes"),
  ssh: z.string(),
  identityFile: z.string().optional(),
  hostKey: z.string().optional(),
  acceptNew: z.boolean().optional(),
  remoteRoot: z.string().regex(/^\/[A-Za-z0-9._/-]*$/, "expected an absolute path of plain characters").default("/opt/clawfleet"),
  shared: z.boolean().default(false),
  capacityMb: z.number().int().positive().optional(),
  /** What the ingress proxy binds 80/443 to; default: every address. */
  ingressAddress: z.string().refine((a) => isIP(a) !== 0, "--ingress-address: expected an IPv4 or IPv6 address like 203.0.113.7").optional(),
});
export type AddHostInput = z.input<typeof AddHostInput>;

export interface AddHostResult {
  host: HostRecord;
  fingerprint: string;
  docker: { ok: boolean; detail: string };
  /** The host's MemTotal in MB; null when /proc/meminfo could not be read. */
  memTotalMb: number | null;
  /** How uploads reach the host: "exec" where sshd has no SFTP subsystem; null when it could not be told. */
  transfer: TransferKind | null;
}

export function targetOf(host: Pick<HostRecord, "name" | "address" | "port" | "user" | "identityFile" | "hostKey">): SshTarget {
  return { name: host.name, address: host.address, port: host.port, user: host.user, identityFile: host.identityFile, hostKey: host.hostKey };
}

/** Registers a host: one connection, the key pinned, Docker checked. Nothing is recorded unless the key is trusted. */
export async function addHost(deps: Deps, raw: AddHostInput): Promise<AddHostResult> {
  const input = parseInput(AddHostInput, raw);
  const spec = parseSshSpec(input.ssh);
  const pin = keyChoice(input.hostKey, input.acceptNew, spec);
  if (await deps.store.hosts.get(input.name)) {
    throw new ConflictError(`a host named ${input.name} already exists`, "pick another name, or see it with `clawfleet hosts list`");
  }
  const target: SshTarget = { name: input.name, ...spec, identityFile: input.identityFile ?? null, hostKey: pin ?? null };
  const { fingerprint, docker, memTotalMb, transfer } = await firstContact(deps, target, pin === undefined);
  const host = await deps.store.hosts.create({
    name: input.name,
    address: spec.address,
    port: spec.port,
    user: spec.user,
    identityFile: input.identityFile ?? null,
    hostKey: fingerprint,
    remoteRoot: input.remoteRoot,
    shared: input.shared,
    capacityMb: input.capacityMb ?? null,
    ingressAddress: input.ingressAddress ?? null,
    dockerOk: docker.ok,
    memTotalMb,
    transfer,
  });
  await audit(deps, "host.add", input.name, "ok", `pinned ${fingerprint}${docker.ok ? "" : "; docker: " + docker.detail}`);
  return { host, fingerprint, docker, memTotalMb, transfer };
}

/** Accepts a new host key deliberately. */
export async function rekeyHost(deps: Deps, name: string, choice: { hostKey?: string; acceptNew?: boolean }): Promise<AddHostResult> {
  const host = await mustGetHost(deps, name);
  const pin = keyChoice(choice.hostKey, choice.acceptNew, host);
  const { fingerprint, docker, memTotalMb, transfer } = await firstContact(deps, { ...targetOf(host), hostKey: pin ?? null }, pin === undefined);
  // A rebuilt host may have lost or gained SFTP; an unknown answer keeps what was recorded.
  const updated = await deps.store.hosts.update(name, { hostKey: fingerprint, dockerOk: docker.ok, ...(transfer ? { transfer } : {}) });
  deps.connector.forget(name);
  await audit(deps, "host.rekey", name, "ok", `${host.hostKey} -> ${fingerprint}`);
  return { host: updated, fingerprint, docker, memTotalMb, transfer };
}

export async function listHosts(deps: Deps): Promise<HostRecord[]> {
  return deps.store.hosts.list();
}

export async function removeHost(deps: Deps, name: string): Promise<void> {
  const host = await mustGetHost(deps, name);
  const live = await deps.store.instances.countLive(host.id);
  if (live > 0) {
    throw new ConflictError(`host ${name} still carries ${live} instance(s)`, "destroy them first (`clawfleet list --host " + name + "`)");
  }
  await deps.store.hosts.remove(name);
  deps.connector.forget(name);
  await audit(deps, "host.remove", name, "ok");
}

export async function mustGetHost(deps: Deps, name: string): Promise<HostRecord> {
  const host = await deps.store.hosts.get(name);
  if (!host) throw new NotFoundError(`no host named ${name}`, "see the registered hosts with `clawfleet hosts list`");
  return host;
}

async function firstContact(deps: Deps, target: SshTarget, acceptNew: boolean) {
  const probe = await step(deps.onEvent, "connect", { host: target.name }, () =>
    deps.connector.probe(target, { acceptNew }).catch(async (err) => {
      if (err instanceof HostKeyError) await audit(deps, "host.key-refused", target.name, "refused", err.message);
      throw err;
    }),
  );
  try {
    // The SFTP probe overlaps the docker check: two channels on the one connection.
    const transfer = probeTransfer(probe.shell);
    const check = await step(deps.onEvent, "check-docker", { host: target.name, detail: (d) => d.detail }, async () =>
      parseDockerCheck(await probe.shell.exec(dockerCheckCommand(), { timeoutMs: 20_000 })),
    );
    const docker = { ok: check.ok, detail: check.detail };
    return { fingerprint: probe.fingerprint, docker, memTotalMb: check.memTotalMb, transfer: await transfer };
  } finally {
    probe.close();
  }
}

/** "sftp" or "exec"; null when the shell cannot tell or the probe failed (uploads will say why). */
function probeTransfer(shell: RemoteShell): Promise<TransferKind | null> {
  return shell.transfer ? shell.transfer().catch(() => null) : Promise.resolve(null);
}

function keyChoice(hostKey: string | undefined, acceptNew: boolean | undefined, at: { address: string; port: number }): string | undefined {
  if (hostKey && acceptNew) throw new InputError("give either --host-key or --accept-new, not both");
  if (hostKey) return parseFingerprint(hostKey);
  if (acceptNew) return undefined;
  throw new InputError(
    "the host key must be pinned: pass --host-key SHA256:… or, to trust on first use, --accept-new",
    `get the fingerprint out of band with: ssh-keyscan -p ${at.port} ${at.address} | ssh-keygen -lf -`,
  );
}
