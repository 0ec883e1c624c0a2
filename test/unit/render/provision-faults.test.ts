/**
 * provision.sh's image check and fresh-install cleanup, run with bash against stand-ins for docker,
 * docker-compose and sleep on PATH (speed; test/integration/provision-script.test.ts runs the same
 * paths against the real engine).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { getPlan, loadPlans } from "../../../src/domain/plans.js";
import { imageRegistry, renderInstance, renderSampleContext } from "../../../src/render/index.js";

const plans = await loadPlans();
const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-faults-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// Each stand-in logs its argv and acts as FAKE_* says; anything else succeeds quietly.
const FAKE_DOCKER = `#!/usr/bin/env bash
echo "docker $*" >>"$FAKE_LOG"
case "$1 $2" in
  "compose version") exit 1 ;;
  "info --format") echo /nonexistent-docker-root ;;
  "image inspect") [[ $FAKE_IMAGE == present || -e $FAKE_LOG.pulled ]] || exit 1 ;;
  "pull "*)
    case "$FAKE_PULL" in
      ok) echo "1.2: Pulling from openclaw"; touch "$FAKE_LOG.pulled" ;;
      slow) exec sleep 30 ;;
      *) printf 'Error response from daemon: pull access denied\\nError response from daemon: manifest for %s not found\\n\\n' "$2" >&2; exit 1 ;;
    esac ;;
  "ps "*) [[ $FAKE_PS == fail ]] && { echo "Cannot connect to the Docker daemon" >&2; exit 1; }; [[ -n $FAKE_PS ]] && echo "$FAKE_PS"; exit 0 ;;
  "rm "*) [[ $FAKE_RM == ok ]] || { echo "Error response from daemon: timeout" >&2; exit 1; } ;;
  "inspect "* | "logs "* | "network rm" | "volume rm") exit 1 ;;
esac
exit 0
`;
const FAKE_COMPOSE = `#!/usr/bin/env bash
echo "docker-compose $*" >>"$FAKE_LOG"
for a in "$@"; do
  [[ $a == up && $FAKE_UP == fail ]] && { echo "ERROR: read timed out" >&2; exit 1; }
  [[ $a == down && $FAKE_DOWN == fail ]] && { echo "ERROR: read timed out" >&2; exit 1; }
done
exit 0
`;
const FAKE_SLEEP = `#!/usr/bin/env bash
echo "sleep $*" >>"$FAKE_LOG"
`;

const bin = path.join(tmp, "bin");
mkdirSync(bin);
for (const [name, text] of [["docker", FAKE_DOCKER], ["docker-compose", FAKE_COMPOSE]] as const) {
  writeFileSync(path.join(bin, name), text);
  chmodSync(path.join(bin, name), 0o755);
}
// `sleep` is faked only where a test asks (the slow pull needs the real one).
const quickSleep = path.join(tmp, "quick-sleep");
mkdirSync(quickSleep);
writeFileSync(path.join(quickSleep, "sleep"), FAKE_SLEEP);
chmodSync(path.join(quickSleep, "sleep"), 0o755);

let n = 0;
function runScript(image: string, env: Record<string, string>, opts: { quickSleep?: boolean } = {}) {
  const root = path.join(tmp, `root${++n}`);
  const ctx = renderSampleContext(getPlan(plans, "pro"), { image, remoteRoot: root, instanceDir: `${root}/instances/sample-pro` });
  const staged = path.join(ctx.instanceDir, ".staged");
  mkdirSync(staged, { recursive: true });
  const { files } = renderInstance(ctx);
  writeFileSync(path.join(staged, "docker-compose.yml"), files.compose);
  writeFileSync(path.join(staged, ".env"), files.env);
  writeFileSync(path.join(staged, "provision.sh"), files.provisionSh);
  const log = path.join(tmp, `calls${n}.log`);
  writeFileSync(log, "");
  const PATH = [...(opts.quickSleep ? [quickSleep] : []), bin, process.env.PATH].join(":");
  const res = spawnSync("bash", [path.join(staged, "provision.sh")], { encoding: "utf8", env: { ...process.env, PATH, FAKE_LOG: log, ...env }, timeout: 15_000 });
  const last = res.stdout.trimEnd().split("\n").at(-1) ?? "";
  const result = /^CLAWFLEET_RESULT (\{.*\})$/.test(last) ? (JSON.parse(last.slice("CLAWFLEET_RESULT ".length)) as Record<string, unknown>) : null;
  return { code: res.status, stderr: res.stderr, result, calls: readFileSync(log, "utf8").trim().split("\n"), dir: ctx.instanceDir };
}

describe("imageRegistry", () => {
  it.each([
    ["registry.example.com/openclaw:1.2", "registry.example.com"],
    ["127.0.0.1:5999/clawfleet/nope:1", "127.0.0.1:5999"],
    ["localhost/gw:1", "localhost"],
    ["ghcr.io/openclaw/gw@sha256:" + "a".repeat(64), "ghcr.io"],
    ["Registry/gw:1", "Registry"],
    ["openclaw:1.2", "docker.io"],
    ["openclaw/gateway:1.2", "docker.io"],
    ["clawfleet-test-gateway:1.0", "docker.io"],
  ])("%s is pulled from %s", (ref, registry) => {
    expect(imageRegistry(ref)).toBe(registry);
  });
});

describe("provision.sh text", () => {
  const script = (image = "registry.example.com/openclaw:1.2") =>
    renderInstance(renderSampleContext(getPlan(plans, "pro"), { image })).files.provisionSh;

  it("names the image's registry", () => {
    expect(script()).toContain("readonly IMAGE_REGISTRY='registry.example.com'\n");
    expect(script("openclaw:1.2")).toContain("readonly IMAGE_REGISTRY='docker.io'\n");
  });

  it("raises Compose v1's HTTP timeout for every compose run", () => {
    expect(script()).toContain('export COMPOSE_HTTP_TIMEOUT="${CF_COMPOSE_HTTP_TIMEOUT:-120}"\n');
  });

  it("checks the image before it installs the staged files or runs compose up", () => {
    const main = script().slice(script().indexOf("\nmain() {"));
    const at = (s: string) => main.indexOf(s);
    expect(at("else ensure_image; fi")).toBeGreaterThan(0);
    expect(at("else ensure_image; fi")).toBeLessThan(at("  install_staged\n"));
    expect(at("  install_staged\n")).toBeLessThan(at("compose up -d"));
  });

  it("keeps the upgrade path: a failed upgrade restores the previous version and removes nothing", () => {
    const text = script();
    const restore = text.slice(text.indexOf("restore_previous() {"), text.indexOf("\n}\n", text.indexOf("restore_previous() {")));
    expect(restore).not.toMatch(/down|rm -f|force_remove/);
    expect(text).toContain('if [[ $HAD_PREV == true ]]; then restore_previous; else remove_fresh_install; fi');
  });
});

describe("provision.sh with stand-ins for docker", () => {
  // `up` fails in these two so that the run ends at once instead of waiting for health.
  it("does not pull an image that is on the host", () => {
    const r = runScript("registry.example.com/openclaw:1.2", { FAKE_IMAGE: "present", FAKE_UP: "fail" }, { quickSleep: true });
    expect(r.calls).toContain("docker image inspect registry.example.com/openclaw:1.2");
    expect(r.calls.filter((c) => c.startsWith("docker pull"))).toEqual([]);
    expect(r.calls.some((c) => c.startsWith("docker-compose") && c.endsWith("up -d --remove-orphans"))).toBe(true);
  });

  it("pulls a missing image before compose up", () => {
    const r = runScript("registry.example.com/openclaw:1.2", { FAKE_PULL: "ok", FAKE_UP: "fail" }, { quickSleep: true });
    const pull = r.calls.indexOf("docker pull registry.example.com/openclaw:1.2");
    expect(pull).toBeGreaterThan(0);
    expect(pull).toBeLessThan(r.calls.findIndex((c) => c.endsWith("up -d --remove-orphans")));
    expect(r.stderr).toContain("pulling it from registry.example.com (at most 300s)");
  });

  it("stops before compose when the image cannot be pulled, naming the image, the registry and docker's error", () => {
    const r = runScript("registry.example.com/openclaw:1.2", {});
    expect(r.code).toBe(1);
    expect(r.result).toMatchObject({
      status: "failed", reason: "image-missing", containerLeft: false, composeRuns: 0,
      message: "image registry.example.com/openclaw:1.2 is not on the host and could not be pulled from registry.example.com: Error response from daemon: manifest for registry.example.com/openclaw:1.2 not found",
    });
    expect(r.calls.filter((c) => c.startsWith("docker-compose") && !c.endsWith(" version"))).toEqual([]);
    expect(readdirSync(r.dir)).toEqual([".lock"]);
  });

  it("says docker.io for an image without a registry host", () => {
    const r = runScript("openclaw/gateway:1.2", {});
    expect(String(r.result?.message)).toContain("could not be pulled from docker.io: ");
  });

  it("bounds the pull by CF_PULL_TIMEOUT", () => {
    const started = Date.now();
    const r = runScript("registry.example.com/openclaw:1.2", { FAKE_PULL: "slow", CF_PULL_TIMEOUT: "1" });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.result).toMatchObject({ reason: "image-missing", message: "image registry.example.com/openclaw:1.2 is not on the host and could not be pulled from registry.example.com: docker pull did not finish within 1s" });
  });

  it("retries a failing down with a backoff, then uses docker rm -f by label, and reports what is still listed", () => {
    const id = "c".repeat(64);
    const r = runScript("registry.example.com/openclaw:1.2", { FAKE_IMAGE: "present", FAKE_UP: "fail", FAKE_DOWN: "fail", FAKE_PS: id, FAKE_RM: "ok" }, { quickSleep: true });
    expect(r.code).toBe(1);
    const downs = r.calls.filter((c) => c.startsWith("docker-compose") && c.endsWith("down -v --remove-orphans"));
    expect(downs).toHaveLength(3);
    expect(r.calls).toEqual(expect.arrayContaining(["sleep 2", "sleep 4", `docker rm -f ${id}`]));
    expect(r.calls).toContain("docker ps -aq --no-trunc --filter label=com.docker.compose.project=cf-sample-pro");
    // The stand-in keeps listing the container: it is reported, never hidden.
    expect(r.result).toMatchObject({ reason: "up-failed", containerLeft: true, containerId: id });
    expect(String(r.result?.message)).toBe(`compose up failed; container ${id} of cf-sample-pro could not be removed and may still be running: remove it on the host with docker rm -f ${id}`);
    expect(readdirSync(r.dir)).toEqual([".lock"]);
  });

  it("removes what down would have when down fails with no container left", () => {
    const r = runScript("registry.example.com/openclaw:1.2", { FAKE_IMAGE: "present", FAKE_UP: "fail", FAKE_DOWN: "fail" }, { quickSleep: true });
    expect(r.calls).toEqual(expect.arrayContaining(["docker network rm cf-sample-pro_default", "docker volume rm cf-sample-pro-data"]));
    expect(r.result).toMatchObject({ reason: "up-failed", containerLeft: false, containerId: null, message: "compose up failed" });
  });

  it("reports a container that may be left when Docker does not answer at all", () => {
    const r = runScript("registry.example.com/openclaw:1.2", { FAKE_IMAGE: "present", FAKE_UP: "fail", FAKE_DOWN: "fail", FAKE_PS: "fail" }, { quickSleep: true });
    expect(r.result).toMatchObject({ reason: "up-failed", containerLeft: true, containerId: null });
    expect(String(r.result?.message)).toContain("Docker did not answer, so a container of cf-sample-pro may still be running");
    // Without a list it still tries the container by name.
    expect(r.calls).toContain("docker rm -f cf-sample-pro");
  });

  it("reports nothing left when down works", () => {
    const r = runScript("registry.example.com/openclaw:1.2", { FAKE_IMAGE: "present", FAKE_UP: "fail" }, { quickSleep: true });
    expect(r.result).toMatchObject({ reason: "up-failed", containerLeft: false, containerId: null, message: "compose up failed" });
    expect(r.calls.filter((c) => c.startsWith("docker rm"))).toEqual([]);
  });
});
