import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { provision, type DryRunResult, type ProvisionResult } from "../../../../src/app/provision/provision.js";
import type { Deps } from "../../../../src/app/ports.js";
import type { FleetEvent } from "../../../../src/app/events.js";
import { ConflictError, InputError, RemoteCommandError } from "../../../../src/errors.js";
import { defaultPlansFile } from "../../../../src/domain/plans.js";
import { memoryStore } from "../../../fakes/memory-store.js";
import { RecordingShell, fakeConnector, manualClock, type Responder } from "../../../fakes/recording-shell.js";

const ok = { stdout: 'CLAWFLEET_RESULT {"status":"healthy","containerId":"c0ffee","changed":true,"durationMs":900}\n' };
const INGRESS = "\ningress:\n  domain: clawdet.example\n  tls: internal\n  image: caddy:2.8.4\n";

function plansWith(extra: string): string {
  const dir = mkdtempSync(join(tmpdir(), "cf-ingress-"));
  const file = join(dir, "plans.yaml");
  writeFileSync(file, readFileSync(defaultPlansFile({}), "utf8") + extra);
  return file;
}

async function setup(respond: Responder = (cmd) => (cmd.startsWith("bash ") ? ok : {}), extra = INGRESS) {
  const store = memoryStore();
  const shell = new RecordingShell("h1", respond);
  const events: FleetEvent[] = [];
  const deps: Deps = { store, connector: fakeConnector(shell), clock: manualClock(), onEvent: (e) => events.push(e), actor: "test", env: {} };
  await store.hosts.create({ name: "h1", address: "10.0.0.1", port: 22, user: "ops", identityFile: null, hostKey: "SHA256:k", remoteRoot: "/srv/cf", shared: true, capacityMb: null, ingressAddress: "203.0.113.7", dockerOk: true });
  return { store, shell, deps, events, plansFile: plansWith(extra) };
}

const input = { customerId: "acme", plan: "free", host: "h1", image: "gw:1.0" };

function staged(shell: RecordingShell): Map<string, { mode: number; content: string }> {
  const out = new Map<string, { mode: number; content: string }>();
  for (const { command, stdin } of shell.commands) {
    const lines = (stdin ?? "").split("\n");
    [...command.matchAll(/^cf_stage '([^']+)' (0[0-7]+) /gm)].forEach((m, i) => out.set(m[1]!.split("/").pop()!, { mode: parseInt(m[2]!, 8), content: Buffer.from(lines[i] ?? "", "base64").toString("utf8") }));
  }
  return out;
}

describe("provision with ingress", () => {
  it("stages a 0600 site file and the proxy's files with the others, and returns the public URL and a login link", async () => {
    const { deps, shell, store, events, plansFile } = await setup();
    const r = (await provision(deps, { ...input, plansFile })) as ProvisionResult;
    expect(r.publicUrl).toBe("https://acme.clawdet.example/");
    expect(r.loginUrl).toBe(`https://acme.clawdet.example/?token=${r.gatewayToken}`);
    expect(r.url).toBe("http://127.0.0.1:18800/");
    const files = staged(shell);
    expect([...files.keys()]).toEqual(["docker-compose.yml", ".env", "provision.sh", "site.caddy", "proxy-compose.yml", "Caddyfile"]);
    const site = files.get("site.caddy")!;
    expect(site.mode).toBe(0o600);
    expect(site.content).toContain("acme.clawdet.example {");
    expect(site.content).toContain(`@login query token=${r.gatewayToken}`);
    expect(site.content).toContain("reverse_proxy 127.0.0.1:18800");
    const session = /__Host-cf_session=([0-9a-f]{64});/.exec(site.content)?.[1];
    expect(session).toMatch(/^[0-9a-f]{64}$/);
    expect(session).not.toBe(r.gatewayToken);
    expect(files.get("Caddyfile")!.content).toContain("default_bind 203.0.113.7");
    for (const f of ["Caddyfile", "proxy-compose.yml", "provision.sh"]) {
      expect(files.get(f)!.content).not.toContain(r.gatewayToken);
      expect(files.get(f)!.content).not.toContain(session);
    }
    expect((await store.instances.get("acme"))!.subdomain).toBe("acme");
    // Neither secret reaches a command line, an event or an audit row.
    const everything = JSON.stringify([shell.commands.map((c) => c.command), events, store.eventsLog, [...store.rows.values()]]);
    expect(everything).not.toContain(r.gatewayToken);
    expect(everything).not.toContain(session);
  });

  it("takes --subdomain, and refuses one that is taken, reserved or not a DNS label without claiming anything", async () => {
    const { deps, store, shell, plansFile } = await setup();
    const first = (await provision(deps, { ...input, subdomain: "shop", plansFile })) as ProvisionResult;
    expect(first.publicUrl).toBe("https://shop.clawdet.example/");
    const before = shell.commands.length;
    const taken = await provision(deps, { ...input, customerId: "beta", subdomain: "shop", plansFile }).catch((e) => e);
    expect(taken).toBeInstanceOf(ConflictError);
    expect(taken.message).toContain("subdomain shop is already taken by customer acme");
    for (const bad of ["www", "admin", "api", "Shop", "-x", "a_b", "x".repeat(64)]) {
      await expect(provision(deps, { ...input, customerId: "beta", subdomain: bad, plansFile })).rejects.toBeInstanceOf(InputError);
    }
    expect(store.rows.has("beta")).toBe(false);
    expect(shell.commands.length).toBe(before);
  });

  it("asks for --subdomain when the customer id is not a usable default", async () => {
    const { deps, plansFile } = await setup();
    const err = await provision(deps, { ...input, customerId: "api", plansFile }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain("(the default subdomain)");
    expect(err.message).toContain("reserved");
  });

  it("refuses --subdomain without an ingress section, and runs no proxy without one", async () => {
    const { deps, shell, plansFile } = await setup(undefined, "");
    await expect(provision(deps, { ...input, subdomain: "shop", plansFile })).rejects.toThrow(/no ingress: section/);
    const r = (await provision(deps, { ...input, plansFile })) as ProvisionResult;
    expect(r.publicUrl).toBeNull();
    expect(r.loginUrl).toBeNull();
    expect([...staged(shell).keys()]).toEqual(["docker-compose.yml", ".env", "provision.sh"]);
  });

  it("refuses tls: acme without acmeEmail (exit 2) before anything is claimed", async () => {
    const { deps, store, plansFile } = await setup(undefined, INGRESS.replace("internal", "acme"));
    const err = await provision(deps, { ...input, plansFile }).catch((e) => e);
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain("ingress.acmeEmail: required with tls: acme");
    expect(store.rows.size).toBe(0);
  });

  it("names the port and the process when 80 or 443 is taken on the ingress address", async () => {
    const message = "port 443 on 203.0.113.7 is taken by 203.0.113.7:443 (process nginx, pid 812): the proxy needs 80 and 443 there";
    const { deps, store, plansFile } = await setup((cmd) => (cmd.startsWith("bash ") ? { code: 76, stdout: `CLAWFLEET_RESULT {"status":"failed","reason":"ingress-port-taken","message":${JSON.stringify(message)}}\n` } : {}));
    const err = await provision(deps, { ...input, plansFile }).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toBe(`cannot serve acme on h1: ${message}`);
    expect(await store.instances.get("acme")).toMatchObject({ status: "failed" });
  });

  it("--dry-run shows the site with placeholders for both secrets", async () => {
    const { deps, plansFile } = await setup();
    const r = (await provision(deps, { ...input, plansFile, dryRun: true })) as DryRunResult;
    const site = r.files.find((f) => f.path.endsWith("site.caddy"))!;
    expect(site.mode).toBe("0600");
    expect(site.content).toContain("<generated at provision time, shown once>");
    expect(site.content).toContain("<session secret, generated at provision time>");
    expect(site.content).not.toMatch(/[0-9a-f]{64}/);
    expect(r.actions.join("\n")).toContain("https://acme.clawdet.example/");
  });
});
