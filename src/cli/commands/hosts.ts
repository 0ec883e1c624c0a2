import type { Command } from "commander";
import type { Runner } from "../main.js";
import { InputError } from "../../errors.js";
import { withFleet, intOption } from "../fleet.js";

export function registerHosts(program: Command, run: Runner): void {
  const hosts = program.command("hosts").description("Manage the host inventory and pinned host keys");

  hosts
    .command("add <name>")
    .description("Register a host and pin its SSH host key")
    .requiredOption("--ssh <user@addr[:port]>", "SSH login, e.g. deploy@203.0.113.7:22")
    .option("--identity <file>", "private key file (passphrase from CLAWFLEET_SSH_PASSPHRASE); default: ssh-agent")
    .option("--host-key <SHA256:…>", "the host key fingerprint to pin")
    .option("--accept-new", "trust the key the host presents now (trust on first use)")
    .option("--remote-root <dir>", "where instances live on the host", "/opt/clawfleet")
    .option("--shared", "part of the shared pool for free instances")
    .option("--capacity-mb <n>", "memory available for instances", intOption("--capacity-mb"))
    .option("--ingress-address <addr>", "IP address the host's ingress proxy binds 80/443 to (default: every address)")
    .option("--json", "print one JSON document")
    .action((name: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const res = await fleet.hosts.add({
            name,
            ssh: o.ssh,
            identityFile: o.identity,
            hostKey: o.hostKey,
            acceptNew: o.acceptNew,
            remoteRoot: o.remoteRoot,
            shared: Boolean(o.shared),
            capacityMb: o.capacityMb,
            ingressAddress: o.ingressAddress,
          });
          if (!res.docker.ok) out.warn(res.docker.detail);
          const transfer = res.transfer === "exec" ? "exec (no SFTP subsystem: files are piped over exec, still 0600 temp, fsync, rename)" : (res.transfer ?? "unknown");
          const room = (await fleet.hosts.usage()).find((r) => r.host.id === res.host.id);
          const capacity = room?.capacityMb == null ? "capacity unknown: set one with `clawfleet hosts set " + res.host.name + " --capacity-mb N`" : `capacity ${room.capacityMb} MB for instances`;
          const memory = `${res.memTotalMb === null ? "MemTotal unreadable" : `MemTotal ${res.memTotalMb} MB`}, ${capacity}`;
          out.result({ host: res.host, fingerprint: res.fingerprint, docker: res.docker, memTotalMb: res.memTotalMb, transfer: res.transfer }, () =>
            [`registered ${res.host.name} (${res.host.user}@${res.host.address}:${res.host.port})`, `pinned host key ${res.fingerprint}`, `docker: ${res.docker.detail}`, `transfer: ${transfer}`, `memory: ${memory}`].join("\n"),
          );
        }),
      ),
    );

  hosts
    .command("list")
    .description("List registered hosts")
    .option("--json", "print one JSON document")
    .action((o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const rooms = await fleet.hosts.usage();
          const { table } = await import("../table.js");
          const hostsDoc = rooms.map((r) => ({ ...r.host, usedMb: r.usedMb, instances: r.instances, effectiveCapacityMb: r.capacityMb, freeMb: r.capacityMb === null ? null : r.capacityMb - r.usedMb }));
          out.result({ hosts: hostsDoc }, () =>
            rooms.length === 0
              ? "no hosts yet: add one with `clawfleet hosts add NAME --ssh USER@ADDR --accept-new`"
              : table(
                  ["name", "address", "user", "fingerprint", "remote root", "ingress", "shared", "memory used / capacity", "status"],
                  rooms.map(({ host: h, usedMb, instances, capacityMb }) => [
                    h.name,
                    `${h.address}:${h.port}`,
                    h.user,
                    h.hostKey,
                    h.remoteRoot,
                    h.ingressAddress ?? "all addresses",
                    h.shared ? "yes" : "no",
                    `${usedMb} / ${capacityMb ?? "?"} MB (${instances} inst.)`,
                    h.dockerOk ? h.status : `${h.status} (docker not usable)`,
                  ]),
                ),
          );
        }),
      ),
    );

  hosts
    .command("set <name>")
    .description("Change where new instances may go: capacity, shared pool, drain")
    .option("--capacity-mb <n>", "memory available for instances (default: MemTotal minus CLAWFLEET_HOST_RESERVE_MB)", intOption("--capacity-mb"))
    .option("--shared", "join the shared pool for free instances")
    .option("--no-shared", "leave the shared pool (dedicated: one pro/enterprise instance)")
    .option("--drain", "take no new instances (live ones stay)")
    .option("--undrain", "take new instances again")
    .option("--json", "print one JSON document")
    .action((name: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          if (o.drain && o.undrain) throw new InputError("give either --drain or --undrain, not both");
          const res = await fleet.hosts.set(name, { capacityMb: o.capacityMb, shared: o.shared, drain: o.drain ? true : o.undrain ? false : undefined });
          res.warnings.forEach((w) => out.warn(w));
          const room = `${res.room.usedMb} / ${res.room.capacityMb ?? "?"} MB used by ${res.room.instances} instance(s)`;
          out.result(res, () => (res.changed.length ? `${name}: ${res.changed.join("; ")}\n  ${room}` : `${name}: nothing changed\n  ${room}`));
        }),
      ),
    );

  hosts
    .command("remove <name>")
    .description("Forget a host (refused while instances live on it)")
    .option("--json", "print one JSON document")
    .action((name: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          await fleet.hosts.remove(name);
          out.result({ removed: name }, () => `removed ${name}`);
        }),
      ),
    );

  hosts
    .command("rekey <name>")
    .description("Accept a new host key deliberately")
    .option("--host-key <SHA256:…>", "the new fingerprint to pin")
    .option("--accept-new", "trust the key the host presents now")
    .option("--json", "print one JSON document")
    .action((name: string, o) =>
      run(o.json, (out) =>
        withFleet(out, async (fleet) => {
          const res = await fleet.hosts.rekey(name, { hostKey: o.hostKey, acceptNew: o.acceptNew });
          out.result({ host: res.host, fingerprint: res.fingerprint }, () => `${name}: pinned host key ${res.fingerprint}`);
        }),
      ),
    );
}
