import { spawn, spawnSync } from "node:child_process";
import http from "node:http";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { inspectInstanceCommand, listManagedCommand, parseInspect } from "../../../../src/remote/commands/inspect.js";
import {
  destroyCommand, destroyTargets, parseDestroy, removeContainersCommand, restartInstanceCommand, startInstanceCommand, stopInstanceCommand,
} from "../../../../src/remote/commands/lifecycle.js";
import { logsCommand } from "../../../../src/remote/commands/logs.js";
import { parseStage, parseTokenHash, stageCommand, tokenHashCommand } from "../../../../src/remote/commands/stage.js";

const ROOT = "/srv/cf";
const scripts: Record<string, string> = {
  inspect: inspectInstanceCommand(ROOT, "acme"),
  list: listManagedCommand(),
  stop: stopInstanceCommand(ROOT, "acme"),
  start: startInstanceCommand(ROOT, "acme", 18800, 90),
  restart: restartInstanceCommand(ROOT, "acme", 18800, 90),
  destroy: destroyCommand(ROOT, "acme", false),
  destroyKeep: destroyCommand(ROOT, "acme", true),
  logs: logsCommand(ROOT, "acme", { tail: 100, sinceSec: 600, follow: true }),
  stage: stageCommand(ROOT, "acme"),
  tokenHash: tokenHashCommand(ROOT, "acme"),
};

describe("lifecycle command builders", () => {
  it.each(Object.entries(scripts))("%s is valid POSIX sh and shellcheck-clean", (_name, script) => {
    expect(spawnSync("dash", ["-n"], { input: script }).status).toBe(0);
    const sc = spawnSync("shellcheck", ["-s", "sh", "-e", "SC2086", "-"], { input: script, encoding: "utf8" });
    expect(sc.stdout).toBe("");
  });

  it("scope every docker query to the instance's compose project", () => {
    for (const name of ["inspect", "destroy", "logs"]) expect(scripts[name]).toContain("'label=com.docker.compose.project=cf-acme'");
    expect(scripts.list).toContain("'label=io.clawfleet.managed=true'");
    expect(scripts.list).toContain("docker info --format '{{.ID}}'");
  });

  it("never ask docker for the container's environment (it holds the secrets)", () => {
    for (const s of Object.values(scripts)) expect(s).not.toMatch(/Config\.Env|\{\{json \.\}\}/);
  });

  it("stop, start and restart take provision.sh's lock and refuse when the files are gone", () => {
    for (const name of ["stop", "start", "restart"]) {
      expect(scripts[name]).toContain("exec 9>>'/srv/cf/instances/acme/.lock'");
      expect(scripts[name]).toContain("flock -w 60 9");
      expect(scripts[name]).toContain("exit 66");
    }
    expect(scripts.start).toMatch(/deadline=\$\(\( \$\(date \+%s\) \+ 90 \)\)/);
  });

  it("stop, start and restart run plain docker on the project's containers, and Compose only when they are gone", () => {
    const ids = "ids=$(docker ps -aq --filter 'label=com.docker.compose.project=cf-acme')";
    for (const name of ["stop", "start", "restart"]) expect(scripts[name]).toContain(ids);
    expect(scripts.stop).toContain('if [ -n "$ids" ]; then docker stop $ids >/dev/null; fi');
    expect(scripts.stop).not.toMatch(/cfc (stop|up|ps)/);
    expect(scripts.start).toContain('if [ -n "$ids" ]; then docker start $ids >/dev/null; else cfc up -d --remove-orphans >&2; fi');
    expect(scripts.restart).toContain('if [ -n "$ids" ]; then docker restart $ids >/dev/null; else cfc up -d --remove-orphans >&2; fi');
    for (const s of Object.values(scripts)) expect(s).not.toContain("cfc ps");
  });

  it("start and restart wait for a 200 from the gateway's own /healthz every 0.1 s, not for Docker's interval", () => {
    for (const name of ["start", "restart"]) {
      const s = scripts[name]!;
      expect(s).toContain("port=18800");
      expect(s).toContain('exec 3<>"/dev/tcp/127.0.0.1/$1"');
      expect(s).toContain(`curl -fs -m 2 -o /dev/null "http://127.0.0.1:$port/healthz"`);
      expect(s).toContain('if [ "$n" -le 30 ]; then t=0.1; else t=0.5; fi');
      expect(s).toContain('sleep "$t" 2>/dev/null || sleep 1');
      // Docker's verdict still gates: never ready while unhealthy.
      expect(s).toContain('[ "$st" != unhealthy ]');
    }
  });

  it("the readiness probe answers true only for a 200 from a real socket", async () => {
    let status = 200;
    const server = http.createServer((req, res) => { res.statusCode = req.url === "/healthz" ? status : 404; res.end("x"); });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    // The probe function from the real script, run against this server.
    const probeDef = scripts.start!.split("\n").filter((l) => /^(if|elif|else).*probe\(\)/.test(l)).join("\n");
    const run = () => new Promise<number>((resolve) => {
      const child = spawn("sh", ["-c", `port=${port}\n${probeDef}\nprobe`]);
      child.on("exit", (code) => resolve(code ?? -1));
    });
    expect(await run()).toBe(0);
    status = 500;
    expect(await run()).not.toBe(0);
    server.close();
  });

  it("destroy removes containers, network, volume and directory, then reports what is left", () => {
    const s = scripts.destroy!;
    expect(s).toContain("docker rm -f $ids");
    expect(s).toContain("docker network rm $nets");
    expect(s).toContain("docker volume rm 'cf-acme-data'");
    expect(s).toContain('rm -rf "$dir"');
    expect(s).toContain("left.volume=$(docker volume ls -q --filter name='^cf-acme-data$'");
    expect(scripts.destroyKeep).not.toContain("docker volume rm");
    expect(destroyTargets(ROOT, "acme", true)).toEqual({ project: "cf-acme", container: "cf-acme", network: "cf-acme_default", volume: null, dir: "/srv/cf/instances/acme", site: "/srv/cf/proxy/sites/acme.caddy" });
  });

  it("parses destroy leftovers, and refuses a report with a missing line", () => {
    expect(parseDestroy("left.containers=0\nleft.networks=       0\nleft.volume=1\nleft.dir=0\nleft.site=0\n")).toEqual({ containers: 0, networks: 0, volume: 1, dir: 0, site: 0 });
    expect(parseDestroy("left.containers=0\n")).toBeNull();
  });

  it("logs masks .env values on the host and never reads .env otherwise", () => {
    const s = scripts.logs!;
    expect(s).toContain("docker logs --tail 100 --since 600s --follow \"$cid\" 2>&1 | cfawk -v envfile='/srv/cf/instances/acme/.env'");
    expect(s).toContain("[redacted]");
    expect(s).toContain("awk -W interactive");
    expect(s).not.toMatch(/cat [^|]*\.env/);
    expect(logsCommand(ROOT, "acme")).not.toContain("--tail");
  });

  it("logs redaction masks every value of 8+ characters from .env", () => {
    const root = mkdtempSync(path.join(os.tmpdir(), "cf-logs-"));
    mkdirSync(path.join(root, "instances", "acme"), { recursive: true });
    writeFileSync(path.join(root, "instances", "acme", ".env"), "# comment line here\nOPENCLAW_GATEWAY_TOKEN=abcdef0123456789\nSHORT=abc\nANTHROPIC_API_KEY=sk-ant-xyz12345\n");
    // The real script, with docker replaced by a line that carries the secrets.
    const script = logsCommand(root, "acme")
      .replace(/^cid=.*$/m, "cid=x")
      .replace(/docker logs[^|]*\|/, "printf 'token=abcdef0123456789 short=abc key=sk-ant-xyz12345 again abcdef0123456789\\n' |");
    const out = spawnSync("sh", ["-c", script], { encoding: "utf8" });
    rmSync(root, { recursive: true, force: true });
    expect(out.stdout).toBe("token=[redacted] short=abc key=[redacted] again [redacted]\n");
  });

  it("stage creates the staging dir and prints only the two carried keys", () => {
    expect(scripts.stage).toContain("mkdir -p '/srv/cf/instances/acme/.staged'");
    expect(scripts.stage).toContain("grep -E '^(OPENCLAW_GATEWAY_TOKEN|ANTHROPIC_API_KEY)=' '/srv/cf/instances/acme/.env'");
    expect(parseStage("env=present\nOPENCLAW_GATEWAY_TOKEN=abc\nANTHROPIC_API_KEY=sk-1\n")).toEqual({ envPresent: true, gatewayToken: "abc", apiKey: "sk-1", sessionSecret: null });
    expect(parseStage("env=missing\n")).toEqual({ envPresent: false, gatewayToken: null, apiKey: null, sessionSecret: null });
  });

  it("token hash is computed on the host", () => {
    const hex = "ab".repeat(32);
    expect(scripts.tokenHash).toContain("sha256sum");
    expect(parseTokenHash(`token-sha256=${hex}\n`)).toBe(hex);
    expect(parseTokenHash("token-sha256=\n")).toBeNull();
  });

  it("removes orphans by hex id only", () => {
    expect(removeContainersCommand(["abcdef012345", "x; reboot"])).toBe("docker rm -f abcdef012345 >/dev/null");
    expect(removeContainersCommand(["$(id)"])).toBe("true");
  });
});

describe("parseInspect", () => {
  const line = (over: Record<string, unknown> = {}) =>
    "container=" + JSON.stringify({
      id: "f".repeat(64), name: "/cf-acme", image: "gw:1.0", labels: { "io.clawfleet.customer": "acme" },
      state: { Status: "running", Running: true, StartedAt: "2026-11-24T00:00:00Z", FinishedAt: "0001-01-01T00:00:00Z", ExitCode: 0, Health: { Status: "healthy", FailingStreak: 0 } },
      restartCount: 1, ports: { "18789/tcp": [{ HostIp: "127.0.0.1", HostPort: "18800" }], "18790/tcp": null }, ...over,
    });

  it("reads files, engine and containers", () => {
    const r = parseInspect(`files=present\nengine=E1\n${line()}\n`);
    expect(r.files).toBe("present");
    expect(r.engine).toBe("E1");
    expect(r.containers[0]).toMatchObject({ name: "cf-acme", state: "running", running: true, health: "healthy", startedAt: "2026-11-24T00:00:00Z", finishedAt: null, restartCount: 1, ports: ["127.0.0.1:18800->18789/tcp"] });
  });

  it("handles a container without a healthcheck, and skips garbage lines", () => {
    const r = parseInspect(`${line({ state: { Status: "exited", Running: false, ExitCode: 137 } })}\ncontainer={broken\nError: No such object\n`);
    expect(r.files).toBe("unknown");
    expect(r.containers).toHaveLength(1);
    expect(r.containers[0]).toMatchObject({ health: null, running: false, exitCode: 137 });
  });
});
