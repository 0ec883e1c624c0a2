import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { getPlan, loadPlans } from "../../../src/domain/plans.js";
import { checkCompose, POLICY_RULES, renderInstance, renderSampleContext } from "../../../src/render/index.js";

const plans = await loadPlans();
const ctx = renderSampleContext(getPlan(plans, "pro"));
const good = renderInstance(ctx).files.compose;
type Doc = { services: { gateway: Record<string, unknown> } } & Record<string, unknown>;
const mutate = (fn: (doc: Doc, svc: Record<string, unknown>) => void): string => {
  const doc = parse(good) as Doc;
  fn(doc, doc.services.gateway);
  return stringify(doc);
};
const rules = (text: string, expect = {}) => checkCompose(text, expect).map((v) => v.rule);

describe("checkCompose", () => {
  it("passes the rendered file, with and without expectations", () => {
    expect(checkCompose(good)).toEqual([]);
    expect(checkCompose(good, { customerId: ctx.customerId, plan: "pro", memory: "2g", cpus: 1, pids: 256, dataPath: "/home/node/.openclaw" })).toEqual([]);
  });

  it.each([
    ["image-pinned", (_d: Doc, s: Record<string, unknown>) => (s.image = "gw:latest")],
    ["cap_drop", (_d: Doc, s: Record<string, unknown>) => delete s.cap_drop],
    ["no-new-privileges", (_d: Doc, s: Record<string, unknown>) => (s.security_opt = ["seccomp:unconfined"])],
    ["read_only", (_d: Doc, s: Record<string, unknown>) => (s.read_only = false)],
    ["tmpfs-tmp", (_d: Doc, s: Record<string, unknown>) => delete s.tmpfs],
    ["data-volume", (_d: Doc, s: Record<string, unknown>) => (s.volumes = ["/srv/data:/home/node/.openclaw"])],
    ["pids_limit", (_d: Doc, s: Record<string, unknown>) => delete s.pids_limit],
    ["memswap_limit", (_d: Doc, s: Record<string, unknown>) => (s.memswap_limit = "4g")],
    ["cpus", (_d: Doc, s: Record<string, unknown>) => delete s.cpus],
    ["logging", (_d: Doc, s: Record<string, unknown>) => (s.logging = { driver: "json-file" })],
    ["healthcheck", (_d: Doc, s: Record<string, unknown>) => (s.healthcheck = { test: ["NONE"] })],
    ["restart", (_d: Doc, s: Record<string, unknown>) => (s.restart = "always")],
    ["labels", (_d: Doc, s: Record<string, unknown>) => delete (s.labels as Record<string, string>)["io.clawfleet.config-hash"]],
    ["ports-loopback", (_d: Doc, s: Record<string, unknown>) => (s.ports = ["0.0.0.0:18800:18789"])],
    ["ports-loopback", (_d: Doc, s: Record<string, unknown>) => (s.ports = ["18800:18789"])],
    ["ports-loopback", (_d: Doc, s: Record<string, unknown>) => (s.ports = [{ host_ip: "127.0.0.1", target: 18789, published: 18800 }])],
    ["env_file", (_d: Doc, s: Record<string, unknown>) => delete s.env_file],
    ["no-privileged", (_d: Doc, s: Record<string, unknown>) => (s.cap_add = ["NET_ADMIN"])],
    ["no-host-namespaces", (_d: Doc, s: Record<string, unknown>) => (s.network_mode = "host")],
    ["version", (d: Doc) => delete d.version],
    ["no-top-level-name", (d: Doc) => (d.name = "cf-x")],
  ])("reports %s by name", (rule, fn) => {
    expect(POLICY_RULES).toContain(rule);
    expect(rules(mutate(fn))).toEqual([rule]);
  });

  it("reports a missing memory limit (and so the swap limit) with a line", () => {
    const text = mutate((_d, s) => delete s.mem_limit);
    const v = checkCompose(text);
    expect(v.map((x) => x.rule)).toEqual(["mem_limit", "memswap_limit"]);
    expect(v[0]?.message).toBe("services.gateway.mem_limit: must be set");
    // A missing key points at its service.
    expect(v[0]?.line).toBe(text.split("\n").findIndex((l) => l.startsWith("  gateway:")) + 2);
  });

  it("checks values against the plan when asked", () => {
    expect(rules(good, { memory: "4g", cpus: 2, pids: 512, customerId: "other", plan: "free", dataPath: "/data" }).sort()).toEqual(
      ["cpus", "data-volume", "labels", "labels", "mem_limit", "pids_limit"].sort(),
    );
  });

  it("reports YAML errors with their line", () => {
    expect(checkCompose("services:\n  a: [\n")).toEqual([{ rule: "yaml", message: expect.stringMatching(/^Flow sequence .*\]$/), line: 3 }]);
    expect(rules("- a list")).toEqual(["yaml"]);
  });
});
