// The peers our sweep is measured against, all running the same per-host check script:
// a bare ssh2 exec per host (the floor), parallel-ssh, and an Ansible ad-hoc `shell` command.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import ssh2 from "ssh2";

/** Opens one raw ssh2 connection per host (host key still checked against the pin). */
export async function connectFloor(hosts, proxies) {
  return Promise.all(
    hosts.map(
      (h, i) =>
        new Promise((resolve, reject) => {
          const c = new ssh2.Client();
          c.on("ready", () => resolve(c)).on("error", reject);
          c.connect({
            host: proxies.addressOf(i), port: 2222, username: h.user, privateKey: readFileSync(h.identityFile), readyTimeout: 30_000,
            hostVerifier: (key) => "SHA256:" + createHash("sha256").update(key).digest("base64").replace(/=+$/, "") === h.fingerprint,
          });
        }),
    ),
  );
}

/** Runs commands[i] on clients[i], all at once; resolves with every stdout once all have exited. */
export function execFloor(clients, commands) {
  return Promise.all(
    clients.map(
      (c, i) =>
        new Promise((resolve, reject) =>
          c.exec(commands[i], (err, stream) => {
            if (err) return reject(err);
            let out = "";
            stream.on("data", (d) => (out += d)).on("close", () => resolve(out));
            stream.stderr.resume();
          }),
        ),
    ),
  );
}

export function closeFloor(clients) {
  for (const c of clients) c.end();
}

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => resolve({ ms: performance.now() - started, code, out }));
  });
}

/** Files pinning every proxy address's host key, for OpenSSH's strict checking. */
export function writeKnownHosts(dir, hosts, proxies) {
  const file = path.join(dir, "known_hosts");
  writeFileSync(file, hosts.map((h, i) => `[${proxies.addressOf(i)}]:2222 ${h.hostKey}`).join("\n") + "\n");
  return file;
}

const sshOpts = (h, knownHosts) => ["-i", h.identityFile, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHosts}`];

/** parallel-ssh over fresh connections (its normal use), output collected per host. */
export function psshRunner(dir, hosts, proxies, knownHosts, perHost) {
  const hostsFile = path.join(dir, `pssh-hosts-${hosts.length}`);
  writeFileSync(hostsFile, hosts.map((h, i) => `${h.user}@${proxies.addressOf(i)}:2222`).join("\n") + "\n");
  const prefix = path.dirname(hosts[0].remoteRoot);
  // pssh sends one command to all hosts: each host finds its own script by the address it was reached on.
  const command = `set -- $SSH_CONNECTION; exec sh ${prefix}/sbx-\${3##*.}/.bench-sweep-${perHost}.sh`;
  const outdir = path.join(dir, "pssh-out");
  return async () => {
    rmSync(outdir, { recursive: true, force: true });
    mkdirSync(outdir);
    const r = await run("parallel-ssh", ["-h", hostsFile, "-p", "32", "-t", "120", "-o", outdir, "-x", sshOpts(hosts[0], knownHosts).join(" "), command]);
    const files = readdirSync(outdir);
    const complete = files.filter((f) => readFileSync(path.join(outdir, f), "utf8").includes("END|")).length;
    if (r.code !== 0 || complete !== hosts.length) throw new Error(`parallel-ssh: exit ${r.code}, ${complete}/${hosts.length} complete\n${r.out.slice(-2000)}`);
    return r.ms;
  };
}

/** `ansible all -m shell` with pipelining, pinned keys, and Ansible's default ControlPersist. */
export function ansibleRunner(dir, hosts, proxies, knownHosts, perHost) {
  const inv = path.join(dir, `inventory-${hosts.length}.ini`);
  const lines = hosts.map((h, i) => `${h.name} ansible_host=${proxies.addressOf(i)} ansible_port=2222 sweep=${h.remoteRoot}/.bench-sweep-${perHost}.sh`);
  const common = sshOpts(hosts[0], knownHosts).slice(2).join(" ");
  writeFileSync(inv, ["[fleet]", ...lines, "", "[fleet:vars]", `ansible_user=${hosts[0].user}`, `ansible_ssh_private_key_file=${hosts[0].identityFile}`, "ansible_python_interpreter=/usr/bin/python3", `ansible_ssh_common_args='${common}'`, ""].join("\n"));
  const env = {
    ANSIBLE_PIPELINING: "True", ANSIBLE_HOST_KEY_CHECKING: "True", ANSIBLE_FORKS: "32", ANSIBLE_LOCAL_TEMP: path.join(dir, "ansible-tmp"),
    ANSIBLE_SSH_CONTROL_PATH_DIR: path.join(dir, "ansible-cp"), ANSIBLE_NOCOLOR: "1", ANSIBLE_DEPRECATION_WARNINGS: "False",
  };
  return async () => {
    const r = await run("ansible", ["all", "-i", inv, "-f", "32", "-m", "shell", "-a", "sh {{ sweep }}"], env);
    const ok = (r.out.match(/\| CHANGED \| rc=0/g) ?? []).length;
    if (r.code !== 0 || ok !== hosts.length) throw new Error(`ansible: exit ${r.code}, ${ok}/${hosts.length} ok\n${r.out.slice(-2000)}`);
    return r.ms;
  };
}
