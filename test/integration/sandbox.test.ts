import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { describeSandbox, knownHostsLine, repoRoot, runSandbox, sandboxDir, sandboxHosts, sh, shOk, sshFlags } from "./sandbox.js";

const IMAGE = "clawfleet-test-gateway";
// Not io.clawfleet.managed: health sweeps in other tests must never see these containers.
const LABEL = "io.clawfleet.test=sandbox-test";
const HARDENING = "--read-only --tmpfs /tmp --cap-drop ALL --security-opt no-new-privileges --pids-limit 64";
const HEALTHCMD = "curl -fsS http://127.0.0.1:18789/healthz || wget -qO- http://127.0.0.1:18789/healthz";

const dir = mkdtempSync(join(tmpdir(), "cf-sandbox-test-"));

describeSandbox("sandbox VPS", () => {
  afterAll(async () => {
    await sh(`docker ps -aq --filter label=${LABEL} | xargs -r docker rm -f -v`);
    await sh(`docker volume ls -q --filter label=${LABEL} | xargs -r docker volume rm`);
    rmSync(dir, { recursive: true, force: true });
  });

  it("every sshd answers with the fingerprint pinned in hosts.json", async () => {
    const hosts = sandboxHosts();
    expect(hosts.length).toBeGreaterThanOrEqual(3);
    for (const h of hosts) {
      const out = await shOk(`ssh-keyscan -t ed25519 -p ${h.port} ${h.address} 2>/dev/null | ssh-keygen -lf -`);
      expect(out.split(" ")[1], h.name).toBe(h.fingerprint);
    }
  });

  it("logs in with strict host key checking, runs docker, and refuses another host's key", async () => {
    const h1 = sandboxHosts()[0]!;
    const h2 = sandboxHosts()[1]!;
    const good = join(dir, "known_hosts");
    writeFileSync(good, `${knownHostsLine(h1)}\n`);
    const ok = await sh(`ssh ${sshFlags(h1, good)} ${h1.user}@${h1.address} 'id -nG; docker ps >/dev/null && echo docker-ok'`);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toMatch(/\bdocker\b[\s\S]*docker-ok/);
    expect(ok.code).toBe(0);
    // Empty shell startup: nothing but the command's own output.
    expect(await shOk(`ssh ${sshFlags(h1, good)} ${h1.user}@${h1.address} true`)).toBe("");
    const root = await shOk(`ssh ${sshFlags(h1, good)} ${h1.user}@${h1.address} 'test -w ${h1.remoteRoot} && echo w'`);
    expect(root).toBe("w\n");

    const wrong = join(dir, "known_hosts_wrong");
    writeFileSync(wrong, `[${h1.address}]:${h1.port} ${h2.hostKey}\n`);
    const refused = await sh(`ssh ${sshFlags(h1, wrong)} ${h1.user}@${h1.address} true`);
    expect(refused.code).toBe(255);
    expect(refused.stderr).toContain("Host key verification failed");
  });

  it("runs the test gateway healthy under the hardening flags, without logging the token", async () => {
    const token = randomBytes(16).toString("hex");
    const g = await runGateway(`${IMAGE}:1.0`, `-e OPENCLAW_GATEWAY_TOKEN=${token}`);
    expect(await healthz(g.port)).toBe(200);
    await waitFor(async () => (await shOk(`docker inspect -f '{{.State.Health.Status}}' ${g.id}`)).trim() === "healthy");
    const logs = await shOk(`docker logs ${g.id} 2>&1`);
    expect(logs).toContain("OPENCLAW_GATEWAY_TOKEN is set");
    expect(logs).toContain("GET /healthz -> 200");
    expect(logs).not.toContain(token);
    expect((await shOk(`docker exec ${g.id} id -u`)).trim()).toBe("1000");
  });

  it("goes 500 with /tmp/cf-unhealthy until a restart clears it", async () => {
    const g = await runGateway(`${IMAGE}:1.0`);
    await shOk(`docker exec ${g.id} touch /tmp/cf-unhealthy`);
    expect(await healthz(g.port)).toBe(500);
    const port = await restart(g.id);
    expect(await healthz(port)).toBe(200);
  });

  it("goes 500 with cf-unhealthy on the data volume, across restarts", async () => {
    const g = await runGateway(`${IMAGE}:1.0`);
    await shOk(`docker exec ${g.id} touch /home/node/.openclaw/cf-unhealthy`);
    expect(await healthz(g.port)).toBe(500);
    const port = await restart(g.id);
    expect(await healthz(port)).toBe(500);
    await shOk(`docker exec ${g.id} rm /home/node/.openclaw/cf-unhealthy`);
    expect(await healthz(port)).toBe(200);
  });

  it("goes 500 with CF_TEST_UNHEALTHY=1 and with the never-healthy tag", async () => {
    expect(await healthz((await runGateway(`${IMAGE}:1.0`, "-e CF_TEST_UNHEALTHY=1")).port)).toBe(500);
    expect(await healthz((await runGateway(`${IMAGE}:never-healthy`)).port)).toBe(500);
  });

  it("delays traffic through the delay proxy by the RTT, in order", async () => {
    const h = sandboxHosts()[0]!;
    const rtt = 100;
    const proxy = spawn(process.execPath, [join(repoRoot, "scripts/delay-proxy.mjs"), "--listen", "127.0.0.1:0",
      "--target", `${h.directAddress}:${h.directPort}`, "--rtt", String(rtt)]);
    try {
      const line: string = await new Promise((ok) => proxy.stdout.once("data", (d) => ok(String(d))));
      const port = Number(/:(\d+) ->/.exec(line)![1]);
      // The sshd speaks first: its banner arrives after the emulated handshake plus half an RTT.
      const t0 = performance.now();
      const banner = await firstData(port);
      const elapsed = performance.now() - t0;
      expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
      expect(elapsed).toBeGreaterThanOrEqual(2 * rtt - 5);
      expect(elapsed).toBeLessThan(2 * rtt + 400);

      const payload = randomBytes(3_000_000);
      const known = join(dir, "known_hosts_proxy");
      writeFileSync(known, `[127.0.0.1]:${port} ${h.hostKey}\n`);
      const viaProxy = { ...h, address: "127.0.0.1", port };
      const sum = await shOk(`ssh ${sshFlags(viaProxy, known)} ${h.user}@127.0.0.1 sha256sum`, { input: payload });
      expect(sum.split(" ")[0]).toBe(createHash("sha256").update(payload).digest("hex"));
    } finally {
      proxy.kill();
    }
  });
});

async function runGateway(image: string, extra = ""): Promise<{ id: string; port: number }> {
  const volume = `cf-sandbox-test-${randomBytes(4).toString("hex")}`;
  await shOk(`docker volume create --label ${LABEL} ${volume}`);
  const id = (await shOk(`docker run -d --label ${LABEL} ${HARDENING} -v ${volume}:/home/node/.openclaw ` +
    `-p 127.0.0.1::18789 --health-cmd '${HEALTHCMD}' --health-interval 1s ${extra} ${image}`)).trim();
  return { id, port: await hostPort(id) };
}

async function restart(id: string): Promise<number> {
  await shOk(`docker restart -t 5 ${id}`);
  return hostPort(id);
}

async function hostPort(id: string): Promise<number> {
  const out = await shOk(`docker port ${id} 18789/tcp`);
  return Number(/127\.0\.0\.1:(\d+)/.exec(out)![1]);
}

/** The /healthz status once the gateway accepts connections. */
async function healthz(port: number): Promise<number> {
  let status = 0;
  await waitFor(async () => {
    status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
    return status !== 0;
  });
  return status;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 100));
  }
}

function firstData(port: number): Promise<string> {
  return new Promise((ok, fail) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("data", (d) => { s.destroy(); ok(String(d)); });
    s.once("error", fail);
  });
}

describeSandbox("sandbox clean-up and clones", () => {
  const other = mkdtempSync(join(tmpdir(), "cf-sandbox-other-"));
  const containers = { before: "cf-restore-test-before", after: "cf-restore-test-after" };
  const labels = (project: string) => `--label io.clawfleet.managed=true --label com.docker.compose.project=${project}`;
  afterAll(async () => {
    await sh(`docker rm -f ${containers.before} ${containers.after}; docker volume rm ${containers.after}_data`);
    await sh(`CLAWFLEET_SANDBOX_DIR='${other}' '${repoRoot}/scripts/sandbox' stop`);
    rmSync(other, { recursive: true, force: true });
  });

  it("refuses a second clone's sandbox on the same addresses, naming the one in use and how to stop it", async () => {
    const h1 = sandboxHosts()[0]!;
    const r = await sh(`CLAWFLEET_SANDBOX_DIR='${other}' '${repoRoot}/scripts/sandbox' start 1`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${h1.directAddress}:${h1.directPort} is in use by another sandbox, ${sandboxDir}`);
    expect(r.stderr).toContain(`CLAWFLEET_SANDBOX_DIR=${sandboxDir} bash scripts/sandbox stop`);
    expect(r.stderr).not.toMatch(/Address already in use/);
    // The sandbox in use is untouched.
    expect((await runSandbox(["status", "3"])).code).toBe(0);
  });

  it("restore stops and removes what started after the snapshot, and keeps what was there", async () => {
    const index = Number(sandboxHosts()[1]!.name.replace(/\D+/g, ""));
    await shOk(`docker create --name ${containers.before} ${labels(containers.before)} ${IMAGE}:1.0 >/dev/null`);
    const snapshot = join(other, "snapshot");
    writeFileSync(snapshot, await shOk(`'${repoRoot}/scripts/sandbox' snapshot`));
    expect((await runSandbox(["weak", String(index)])).code).toBe(0);
    await shOk(`docker volume create ${labels(containers.after)} ${containers.after}_data >/dev/null`);
    await shOk(`docker create --name ${containers.after} ${labels(containers.after)} -v ${containers.after}_data:/data ${IMAGE}:1.0 >/dev/null`);
    const listening = () => shOk(`ss -Hltn 'sport = :2223'`);
    expect(await listening()).toContain(`127.0.1.${index}:2223`);

    const r = await runSandbox(["restore", snapshot]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("removed 1 container(s)");
    expect(await listening()).not.toContain(`127.0.1.${index}:2223`);
    expect(await shOk(`'${repoRoot}/scripts/sandbox' snapshot`)).not.toContain(`weak ${index}`);
    const names = await shOk(`docker ps -a --format '{{.Names}}'`);
    expect(names).toContain(containers.before);
    expect(names).not.toContain(containers.after);
    expect(await shOk(`docker volume ls -q`)).not.toContain(`${containers.after}_data`);
    expect((await runSandbox(["status", "3"])).code, "the hosts that were up stay up").toBe(0);
  });
});
