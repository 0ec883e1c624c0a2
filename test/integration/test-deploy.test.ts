import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runCli, tempDbUrl } from "./cli.js";
import { describeSandbox, sandboxHosts } from "./sandbox.js";
import { bin, cleanupCustomers, docker } from "./lifecycle-helpers.js";
import { DOMAIN, removeProxy } from "./ingress-helpers.js";

const IMAGE = "clawfleet-test-gateway:1.0";
const BROKEN = "clawfleet-test-gateway:never-healthy";

describeSandbox("test-deploy: a throwaway instance checked end to end and always removed (real sshd, Docker and Caddy)", () => {
  const db = tempDbUrl("cf-td-");
  const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-td-"));
  const plansFile = path.join(tmp, "plans.yaml");
  const env = { CLAWFLEET_DATABASE_URL: db, CLAWFLEET_PLANS: plansFile };
  const host = () => sandboxHosts()[1]!;
  const cli = async (args: string[], code = 0) => {
    const r = await runCli(args, env);
    expect(r.code, `${args.join(" ")}\n${r.stderr}\n${r.stdout}`).toBe(code);
    return r;
  };
  /** Everything an instance leaves on the host and in the live listing; all empty once it is cleaned up. */
  const traces = async (id: string) => ({
    containers: docker("ps", "-aq", "--filter", `label=io.clawfleet.customer=${id}`),
    volumes: docker("volume", "ls", "-q", "--filter", `name=cf-${id}-data`),
    dir: existsSync(path.join(host().remoteRoot, "instances", id)),
    site: existsSync(path.join(host().remoteRoot, "proxy", "sites", `${id}.caddy`)),
    listed: ((await cli(["list", "--json"])).json().instances as { customerId: string }[]).some((i) => i.customerId === id),
  });
  const gone = { containers: "", volumes: "", dir: false, site: false, listed: false };
  const testIds = () => docker("ps", "-a", "--format", "{{.Label \"io.clawfleet.customer\"}}").split("\n").filter((c) => c.startsWith("cf-test-"));

  /** Starts a human-mode run and resolves once its provision check passed. */
  const startRun = () => {
    const child = spawn(process.execPath, [bin, "test-deploy", "--host", host().name, "--image", IMAGE], { env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("close", (code, signal) => r(code ?? (signal ? -1 : null))));
    const provisioned = new Promise<string>((resolve, reject) => {
      const t = setInterval(() => {
        const id = /✓ provision[\s\S]*?(cf-test-[a-z0-9]+-[0-9a-f]{4})/.exec(out)?.[1] ?? /(cf-test-[a-z0-9]+-[0-9a-f]{4})/.exec(out)?.[1];
        if (/✓ provision/.test(out) && id) (clearInterval(t), resolve(id));
      }, 50);
      void exited.then(() => (clearInterval(t), reject(new Error(`test-deploy exited before provisioning:\n${out}`))));
    });
    return { child, exited, provisioned, output: () => out };
  };

  /** What a failed earlier run of this file may have left (each run has its own DB, so reconcile sees orphans). */
  const sweep = () => {
    cleanupCustomers(testIds());
    for (const d of existsSync(path.join(host().remoteRoot, "instances")) ? readdirSync(path.join(host().remoteRoot, "instances")) : []) {
      if (d.startsWith("cf-test-")) cleanupCustomers([d]);
    }
  };

  beforeAll(async () => {
    sweep();
    removeProxy(host().remoteRoot);
    writeFileSync(plansFile, readFileSync(path.resolve("templates/plans.yaml"), "utf8").replace(/healthTimeout: \S+/, "healthTimeout: 8s") +
      `\ningress:\n  domain: ${DOMAIN}\n  tls: internal\n  image: ${host().proxyImage}\n`);
    const h = host();
    await cli(["hosts", "add", h.name, "--ssh", `${h.user}@${h.address}:${h.port}`, "--identity", h.identityFile, "--host-key", h.fingerprint, "--remote-root", h.remoteRoot, "--shared", "--ingress-address", h.ingressAddress]);
  });
  afterAll(() => {
    sweep();
    removeProxy(host().remoteRoot);
  });

  it("passes on a healthy host, with one ✓ line per check, and leaves no container, volume, file, site or live row", async () => {
    const r = await cli(["test-deploy", "--host", host().name, "--image", IMAGE, "--json"]);
    const res = r.json();
    expect(res).toMatchObject({ ok: true, host: host().name, plan: "free", interrupted: false, publicSkipped: false });
    expect(res.customerId).toMatch(/^cf-test-/);
    expect(res.checks.map((c: { name: string }) => c.name)).toEqual([
      "provision", "healthz on the host", "public /healthz", "401 without a session", "login exchange", "status in sync", "restart comes back healthy", "clean up",
    ]);
    expect(res.checks.every((c: { ok: boolean }) => c.ok)).toBe(true);
    expect(r.stderr.match(/^✓ /gm)?.length).toBeGreaterThanOrEqual(8);
    expect(await traces(res.customerId)).toEqual(gone);
    // Nothing secret in what a CI log keeps.
    expect(r.stdout + r.stderr).not.toMatch(/token=[0-9a-f]{64}|[0-9a-f]{64}/);
  });

  it("fails with exit 1 against a never-healthy image, and still cleans up", async () => {
    const r = await cli(["test-deploy", "--host", host().name, "--image", BROKEN, "--json"], 1);
    const res = r.json();
    expect(res.ok).toBe(false);
    expect(res.checks).toMatchObject([{ name: "provision", ok: false }, { name: "clean up", ok: true }]);
    expect(res.checks[0].detail).toMatch(/did not become healthy/);
    expect(r.stderr).toMatch(/^✗ provision/m);
    expect(await traces(res.customerId)).toEqual(gone);
  });

  it("cleans up on Ctrl-C", async () => {
    const run = startRun();
    const id = await run.provisioned;
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(130);
    expect(run.output()).toMatch(/interrupted/);
    expect(run.output()).toMatch(/✓ clean up/);
    expect(await traces(id)).toEqual(gone);
  });

  it("a crashed run's leftover is reported by reconcile, removed by the next run, and by reconcile --fix", async () => {
    const crash = async () => {
      const run = startRun();
      const id = await run.provisioned;
      run.child.kill("SIGKILL");
      await run.exited;
      expect((await traces(id)).containers).not.toBe("");
      return id;
    };
    const first = await crash();
    const report = (await cli(["reconcile", "--json"], 1)).json();
    // Other installs' containers on the shared sandbox engine show up as "foreign"; they are not ours.
    const ours = (r: Record<string, any>) => (r.findings as { kind: string }[]).filter((f) => f.kind !== "foreign");
    expect(ours(report)).toEqual([expect.objectContaining({ kind: "test-leftover", customerId: first })]);
    const next = (await cli(["test-deploy", "--host", host().name, "--image", IMAGE, "--json"])).json();
    expect(next.leftoversRemoved).toEqual([first]);
    expect(await traces(first)).toEqual(gone);

    const second = await crash();
    const fixed = (await cli(["reconcile", "--fix", "--json"])).json();
    expect(ours(fixed)).toEqual([expect.objectContaining({ kind: "test-leftover", customerId: second, action: "destroyed", fixed: true })]);
    expect(await traces(second)).toEqual(gone);
    expect(testIds()).toEqual([]);
  });
});
