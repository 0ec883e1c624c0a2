import { describe, expect, it } from "vitest";
import { classify, type InstanceFacts } from "../../../src/domain/health-classify.js";

const running = { managed: true, state: "running", dockerHealth: "healthy", exitCode: 0 };
const base: InstanceFacts = { container: running, missing: false, probe: { code: 200, via: "curl", latencyMs: 3 }, dockerError: null, noProbeTool: false, complete: true };
const c = (f: Partial<InstanceFacts>) => classify("cf-acme", 18800, { ...base, ...f });

describe("classify", () => {
  it("is healthy when the container runs and /healthz answers 200", () => {
    expect(c({})).toEqual({ kind: "healthy" });
  });

  it.each([
    [{ probe: { code: 500, via: "curl", latencyMs: 2 } }, "/healthz returned 500 (docker health: healthy)"],
    [{ probe: { code: 0, via: "curl", latencyMs: 5000 } }, "no answer from /healthz on 127.0.0.1:18800 (docker health: healthy)"],
    [{ probe: { code: 500, via: "wget", latencyMs: null } }, "/healthz returned an HTTP error (docker health: healthy)"],
    [{ container: { ...running, state: "exited", exitCode: 137 } }, "container is exited (exit code 137)"],
    [{ container: { ...running, state: "restarting" } }, "container is restarting"],
    [{ container: undefined, missing: true }, "container cf-acme does not exist"],
    [{ container: { ...running, managed: false } }, "container cf-acme is not labelled io.clawfleet.managed=true"],
  ])("is unhealthy with a reason: %j", (facts, reason) => {
    expect(c(facts as Partial<InstanceFacts>)).toEqual({ kind: "unhealthy", reason });
  });

  it("is unknown, never unhealthy, when the host cannot tell", () => {
    expect(c({ container: undefined, dockerError: "Cannot connect to the Docker daemon" }).kind).toBe("unknown");
    expect(c({ container: undefined, complete: false }).kind).toBe("unknown");
    expect(c({ probe: undefined, complete: false }).kind).toBe("unknown");
  });

  it("falls back to Docker's health when the host has no HTTP client", () => {
    expect(c({ probe: undefined, noProbeTool: true })).toEqual({ kind: "healthy" });
    expect(c({ probe: undefined, noProbeTool: true, container: { ...running, dockerHealth: "unhealthy" } }).kind).toBe("unhealthy");
    expect(c({ probe: undefined, noProbeTool: true, container: { ...running, dockerHealth: "none" } }).kind).toBe("unknown");
  });
});
