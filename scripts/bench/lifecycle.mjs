// Each lifecycle command on a warm sandbox instance against its compose floor, side by side in one
// run: stop vs `compose stop`, start vs `compose start` + /healthz, restart vs `compose restart` +
// /healthz, upgrade vs `compose up -d` with another image + /healthz, rotate-token vs `compose up -d`
// with a changed .env + /healthz. Library calls on one fleet (a pooled connection, as the billing API has).
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { composeFloor } from "./floor.mjs";
import { median, publish, removeInstance, repoRoot, round, startSandbox, table, timed } from "./lib.mjs";

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const IMAGES = ["clawfleet-test-gateway:1.0", "clawfleet-test-gateway:1.1"];
const tmp = mkdtempSync(path.join(os.tmpdir(), "cf-bench-lc-"));
const [h] = startSandbox(1);
const { createFleet } = await import(path.join(repoRoot, "dist/index.js"));
const customer = "bench-lc";
const cleanup = () => removeInstance(customer, [h.remoteRoot]);
cleanup();

const fleet = await createFleet({ databaseUrl: `file:${path.join(tmp, "bench.db")}`, actor: "bench" });
await fleet.hosts.add({ name: "lc0", ssh: `${h.user}@${h.address}:${h.port}`, identityFile: h.identityFile, hostKey: h.fingerprint, remoteRoot: h.remoteRoot, shared: true });
await fleet.provision({ customerId: customer, plan: "free", host: "lc0", image: IMAGES[0] });
const floor = composeFloor(path.join(tmp, "floor"), "cfbench-lcfloor", 28710, IMAGES[0]);
await floor.up();

const ours = { stop: [], start: [], restart: [], upgrade: [], "rotate-token": [] };
const base = { stop: [], start: [], restart: [], upgrade: [], "rotate-token": [] };
for (let i = 0; i < RUNS; i++) {
  const next = IMAGES[(i + 1) % 2];
  base.stop.push(await floor.stop());
  ours.stop.push(await timed(() => fleet.stop(customer)));
  base.start.push(await floor.start());
  ours.start.push(await timed(() => fleet.start(customer)));
  base.restart.push(await floor.restart());
  ours.restart.push(await timed(() => fleet.restart(customer)));
  base.upgrade.push(await floor.recreate(next));
  ours.upgrade.push(await timed(() => fleet.upgrade({ customerId: customer, image: next })));
  base["rotate-token"].push(await floor.newEnv(next));
  ours["rotate-token"].push(await timed(() => fleet.rotateToken(customer)));
  console.error(`run ${i}: ` + Object.keys(ours).map((k) => `${k} ${Math.round(ours[k].at(-1))}/${Math.round(base[k].at(-1))} ms`).join(", "));
}
floor.remove();
await fleet.destroy({ customerId: customer, force: true });
await fleet.close();
cleanup();

const ms = (x) => `${Math.round(x)} ms`;
const floors = { stop: "`compose stop`", start: "`compose start` + /healthz", restart: "`compose restart` + /healthz", upgrade: "`compose up -d`, new image, + /healthz", "rotate-token": "`compose up -d`, new .env, + /healthz" };
const results = { runs: RUNS, ours, floor: base, ratios: Object.fromEntries(Object.keys(ours).map((k) => [k, round(median(ours[k]) / median(base[k]), 2)])) };
console.log(JSON.stringify(results.ratios, null, 2));
publish(
  "lifecycle",
  results,
  `## Lifecycle commands against their compose floor

One \`free\` instance of the test image on a warm sandbox host, driven through the library on one fleet (a pooled SSH connection; each command still takes the DB lease, the remote flock, and for upgrade and rotate-token stages, uploads and runs provision.sh). Each floor is the same change made by \`docker-compose\` directly on this machine to a one-service project, then \`/healthz\` polled every 20 ms until 200. Median of ${RUNS} runs, interleaved in one run.

${table(
  ["command", "clawfleet", "floor (same run)", "floor is", "ratio"],
  Object.keys(ours).map((k) => [`\`${k}\``, ms(median(ours[k])), ms(median(base[k])), floors[k], `${results.ratios[k]}×`]),
)}

stop, start and restart run plain \`docker stop|start|restart\` on the project's containers (Compose only when the container is gone), so they skip Compose v1's ~0.5 s Python start-up that the floor pays; start and restart then probe \`/healthz\` every 0.1 s rather than wait for Docker's healthcheck interval.`,
);
