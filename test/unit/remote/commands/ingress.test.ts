import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { listSitesLines, parseSiteList, parseSiteState, removeSiteLines } from "../../../../src/remote/commands/ingress.js";
import { destroyCommand, parseDestroy } from "../../../../src/remote/commands/lifecycle.js";
import { parseStage, stageCommand } from "../../../../src/remote/commands/stage.js";

describe("ingress remote commands", () => {
  it("removes the site under the proxy lock, reloads gracefully through the admin socket, and reports what is left", () => {
    const script = removeSiteLines("/srv/r", "acme").join("\n");
    expect(script).toContain("site='/srv/r/proxy/sites/acme.caddy'");
    expect(script).toContain("exec 6>>'/srv/r/proxy/.lock'");
    expect(script).toContain(`docker exec "$proxy" caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile --address 'unix//run/clawfleet/admin.sock'`);
    expect(script).toContain("label=com.docker.compose.project=cf-proxy-");
    expect(script).toContain("echo left.site=");
  });

  it("destroy removes the site before the containers and counts it", () => {
    const script = destroyCommand("/opt/clawfleet", "acme", false);
    expect(script.indexOf("rm -f \"$site\"")).toBeLessThan(script.indexOf("docker stop"));
    expect(script).toContain("label=com.docker.compose.project=cf-proxy'");
    expect(parseDestroy("left.containers=0\nleft.networks=0\nleft.volume=0\nleft.dir=0\nleft.site=1\n")).toEqual({ containers: 0, networks: 0, volume: 0, dir: 0, site: 1 });
    expect(parseDestroy("left.containers=0\nleft.networks=0\nleft.volume=0\nleft.dir=0\n")).toBeNull();
  });

  it("lists site files by customer id and parses the site state", () => {
    expect(listSitesLines("/srv/r")[0]).toContain("'/srv/r/proxy/sites'/*.caddy");
    expect(parseSiteList("engine=x\nsite=acme\nsite=beta-2\nsite=../evil\n")).toEqual(["acme", "beta-2"]);
    expect(parseSiteState("site=present\nproxy=running\n")).toEqual({ site: "present", proxy: "running" });
    expect(parseSiteState("")).toEqual({ site: "unknown", proxy: "unknown" });
  });

  it("a re-render carries the session secret from the site file on stdout only", () => {
    const cmd = stageCommand("/srv/r", "acme");
    expect(cmd).not.toContain("session=$(cat");
    expect(cmd).toContain("'/srv/r/proxy/sites/acme.caddy'");
    const secret = "5e".repeat(32);
    expect(parseStage(`env=present\nOPENCLAW_GATEWAY_TOKEN=${"a".repeat(64)}\nsession=${secret}\n`).sessionSecret).toBe(secret);
    expect(parseStage("env=present\n").sessionSecret).toBeNull();
    // And the command finds it in a real site file.
    const root = mkdtempSync(join(tmpdir(), "cf-stage-"));
    mkdirSync(join(root, "proxy/sites"), { recursive: true });
    writeFileSync(join(root, "proxy/sites/acme.caddy"), `\theader Set-Cookie "__Host-cf_session=${secret}; HttpOnly"\n`);
    expect(parseStage(execFileSync("sh", ["-c", stageCommand(root, "acme")], { encoding: "utf8" })).sessionSecret).toBe(secret);
  });
});
