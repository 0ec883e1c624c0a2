import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { InputError } from "../../../src/errors.js";
import { getPlan, loadPlans } from "../../../src/domain/plans.js";
import {
  checkCompose, parseComposeYaml, renderInstance, renderSampleContext, validateComposeSchema, type InstanceContext,
} from "../../../src/render/index.js";

const plans = await loadPlans();
const names = Object.keys(plans.plans);
const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-render-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const TOKEN = "f00d".repeat(16);
const ctxFor = (plan: string, over: Partial<InstanceContext> = {}) => renderSampleContext(getPlan(plans, plan), { gatewayToken: TOKEN, ...over });

describe.each(names)("plan %s", (plan) => {
  const ctx = ctxFor(plan);
  const { files, configHash } = renderInstance(ctx);

  it("renders a compose file that parses, matches the schema and passes the policy", () => {
    const parsed = parseComposeYaml(files.compose);
    expect(parsed.errors).toEqual([]);
    expect(validateComposeSchema(parsed.data)).toEqual([]);
    const spec = ctx.planSpec;
    expect(checkCompose(files.compose, { customerId: ctx.customerId, plan, image: spec.image, dataPath: spec.dataPath, memory: spec.memory, cpus: spec.cpus, pids: spec.pids })).toEqual([]);
    const svc = (parse(files.compose) as { services: { gateway: Record<string, unknown> } }).services.gateway;
    expect(svc.labels).toMatchObject({ "io.clawfleet.managed": "true", "io.clawfleet.customer": ctx.customerId, "io.clawfleet.plan": plan, "io.clawfleet.config-hash": configHash });
    // As shipped, no plan publishes the CDP range (plans.yaml cdpPorts): three ports per instance.
    expect(svc.ports).toEqual([
      `127.0.0.1:${ctx.ports.gateway}:18789`, `127.0.0.1:${ctx.ports.bridge}:18790`, `127.0.0.1:${ctx.ports.browser}:18791`,
    ]);
    expect(files.compose).not.toMatch(/^name:/m);
    expect(files.compose).not.toContain("host_ip");
  });

  it("keeps secrets in .env only", () => {
    expect(files.env).toContain(`OPENCLAW_GATEWAY_TOKEN=${TOKEN}\n`);
    expect(files.env).toContain(`ANTHROPIC_API_KEY=${ctx.apiKey}\n`);
    for (const text of [files.compose, files.provisionSh]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(ctx.apiKey);
    }
    expect(renderInstance(ctxFor(plan, { apiKey: null })).files.env).not.toContain("ANTHROPIC_API_KEY");
  });

  it("renders a provision.sh that passes bash -n", () => {
    const file = path.join(tmp, `${plan}.sh`);
    writeFileSync(file, files.provisionSh);
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).stderr).toBe("");
    expect(files.provisionSh).toMatch(/^#!\/usr\/bin\/env bash\n/);
    expect(files.provisionSh).toContain("set -Eeuo pipefail\numask 077\n");
    expect(files.provisionSh).toContain("CLAWFLEET_RESULT {");
  });
});

describe("cdpPorts", () => {
  const on = (plan: string) => {
    const spec = { ...getPlan(plans, plan), cdpPorts: true };
    return renderInstance(renderSampleContext(spec, { gatewayToken: TOKEN }));
  };
  it.each(names)("publishes the slot's CDP range on 127.0.0.1 when plan %s asks, moving no other port", (plan) => {
    const off = renderInstance(ctxFor(plan));
    const { files, configHash } = on(plan);
    const ctx = ctxFor(plan);
    const ports = (parse(files.compose) as { services: { gateway: { ports: string[] } } }).services.gateway.ports;
    const offPorts = (parse(off.files.compose) as { services: { gateway: { ports: string[] } } }).services.gateway.ports;
    expect(ports).toEqual([...offPorts, `127.0.0.1:${ctx.ports.cdpStart}-${ctx.ports.cdpEnd}:18800-18899`]);
    expect(checkCompose(files.compose, { customerId: ctx.customerId, plan })).toEqual([]);
    // Turning it on is a config change: upgrade and reconcile see the drift.
    expect(configHash).not.toBe(off.configHash);
  });
});

describe("provision.sh", () => {
  it("is shellcheck-clean for every plan", () => {
    const scripts = names.map((plan) => {
      const file = path.join(tmp, `sc-${plan}.sh`);
      writeFileSync(file, renderInstance(ctxFor(plan)).files.provisionSh);
      return file;
    });
    const res = spawnSync("shellcheck", ["--norc", "--format=gcc", ...scripts], { encoding: "utf8" });
    if (res.error && process.env.CI !== "true") {
      console.warn("\n!!! shellcheck is not installed: provision.sh lint SKIPPED (CI fails here) !!!\n");
      return;
    }
    expect(res.stdout).toBe("");
    expect(res.status).toBe(0);
  });
});

describe("configHash", () => {
  const hash = (over: Partial<InstanceContext> = {}) => renderInstance(ctxFor("pro", over)).configHash;
  it("ignores secrets and changes with non-secret inputs", () => {
    expect(hash()).toMatch(/^[0-9a-f]{64}$/);
    expect(hash({ gatewayToken: "0".repeat(64), apiKey: "other-key" })).toBe(hash());
    expect(hash({ image: "ghcr.io/openclaw/openclaw-gateway:2026.12.0" })).not.toBe(hash());
    const pro = getPlan(plans, "pro");
    expect(hash({ planSpec: { ...pro, memory: "3g", memoryBytes: 3 * 1024 ** 3 } })).not.toBe(hash());
  });
  it("does not depend on key order", () => {
    const pro = getPlan(plans, "pro");
    const reordered = Object.fromEntries(Object.entries(pro).reverse()) as typeof pro;
    expect(hash({ planSpec: reordered })).toBe(hash());
  });
});

describe("context checks", () => {
  const bad = (over: Partial<InstanceContext>) => () => renderInstance(ctxFor("free", over));
  it("rejects ids, paths and refs that could reach a command", () => {
    expect(bad({ customerId: "x; rm -rf /" })).toThrow(InputError);
    expect(bad({ remoteRoot: "/opt/$(id)", instanceDir: "/opt/$(id)/instances/sample-free" })).toThrow(/remoteRoot: expected an absolute path/);
    expect(bad({ instanceDir: "/tmp/elsewhere" })).toThrow(/instanceDir: expected \/opt\/clawfleet\/instances\/sample-free/);
    expect(bad({ image: "gw:latest" })).toThrow(/image: image "gw:latest" uses :latest/);
    expect(bad({ plan: "pro" })).toThrow(/does not match planSpec\.name/);
    expect(bad({ ports: { gateway: 1, bridge: 5, browser: 3, cdpStart: 9, cdpEnd: 108 } })).toThrow(/ports: expected bridge/);
  });
  it("never echoes a secret in its messages", () => {
    const secret = "not-hex-secret-token-value";
    expect(bad({ gatewayToken: secret })).toThrow(/gatewayToken: expected 64 lowercase hex characters/);
    try {
      bad({ gatewayToken: secret, apiKey: "key with spaces" })();
    } catch (err) {
      expect((err as Error).message).not.toContain(secret);
    }
    expect(bad({ apiKey: "key with spaces" })).toThrow(/envv: value has characters/);
  });
  it("works on docker-compose when installed", () => {
    const which = spawnSync("docker-compose", ["version"]);
    if (which.error) return;
    const dir = mkdtempSync(path.join(tmp, "compose-"));
    const { files } = renderInstance(ctxFor("enterprise"));
    writeFileSync(path.join(dir, "docker-compose.yml"), files.compose);
    writeFileSync(path.join(dir, ".env"), files.env);
    execFileSync("docker-compose", ["-f", path.join(dir, "docker-compose.yml"), "config", "-q"], { cwd: dir });
  });
});
