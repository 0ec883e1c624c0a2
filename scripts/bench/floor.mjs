// The compose floor: what Docker itself needs, with no clawfleet around it. A one-service file with
// the same image on one loopback port, driven by docker-compose directly on this machine (no SSH),
// and /healthz polled every 20 ms until it answers 200. Shared by the provision and lifecycle suites.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { timed } from "./lib.mjs";

const compose = (() => {
  try {
    execFileSync("docker", ["compose", "version"], { stdio: "ignore" });
    return ["docker", "compose"];
  } catch {
    return ["docker-compose"];
  }
})();

async function untilHealthy(port, deadlineMs = 60_000) {
  const end = Date.now() + deadlineMs;
  for (;;) {
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`floor: 127.0.0.1:${port} never answered 200`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One floor project in `dir`, published on 127.0.0.1:`port`. Every method returns its wall time in ms. */
export function composeFloor(dir, name, port, image) {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "docker-compose.yml");
  const write = (img, env) => {
    writeFileSync(path.join(dir, ".env"), `CF_FLOOR_ENV=${env}\n`);
    writeFileSync(file, `version: "2.4"\nservices:\n  gateway:\n    image: "${img}"\n    env_file: .env\n    ports:\n      - "127.0.0.1:${port}:18789"\n`);
  };
  const run = (...args) => execFileSync(compose[0], [...compose.slice(1), "--project-name", name, "--file", file, ...args], { stdio: "ignore", cwd: dir });
  let env = 0;
  return {
    /** compose up -d of a fresh project, then /healthz until 200. */
    up: (img = image) => { write(img, env); return timed(async () => { run("up", "-d"); await untilHealthy(port); }); },
    stop: () => timed(() => run("stop")),
    start: () => timed(async () => { run("start"); await untilHealthy(port); }),
    restart: () => timed(async () => { run("restart"); await untilHealthy(port); }),
    /** Re-create with another image (as upgrade does). */
    recreate: (img) => { write(img, env); return timed(async () => { run("up", "-d"); await untilHealthy(port); }); },
    /** Re-create with a changed .env (as rotate-token does). */
    newEnv: (img = image) => { env++; write(img, env); return timed(async () => { run("up", "-d"); await untilHealthy(port); }); },
    down: () => { try { run("down", "-v"); } catch { /* already gone */ } },
    remove: () => { try { run("down", "-v"); } catch { /* already gone */ } rmSync(dir, { recursive: true, force: true }); },
  };
}
