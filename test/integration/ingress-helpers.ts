/** Helpers for the ingress integration tests: curl through a sandbox host's real Caddy. */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { docker } from "./lifecycle-helpers.js";
import { sh, type ShResult } from "./sandbox.js";

export const DOMAIN = "clawfleet.test";

/** The proxy container of a sandbox host's remote root, or "" when none exists. */
export function proxyContainer(remoteRoot: string): string {
  return docker("ps", "-aq", "--filter", "label=io.clawfleet.proxy=true", "--filter", `label=io.clawfleet.root=${remoteRoot}`);
}

/** Copies the host proxy's local CA root (tls internal) to `dest`. */
export function fetchRootCa(remoteRoot: string, dest: string): void {
  docker("cp", `${proxyContainer(remoteRoot)}:/data/caddy/pki/authorities/local/root.crt`, dest);
}

/** Removes a root's proxy container, its certificate volume and its files (the suite leaves nothing running). */
export function removeProxy(remoteRoot: string): void {
  rmSync(path.join(remoteRoot, "proxy"), { recursive: true, force: true });
  const id = proxyContainer(remoteRoot);
  if (!id) return;
  const volumes = docker("inspect", "--format", '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', id).split(/\s+/).filter(Boolean);
  docker("rm", "-f", id);
  for (const v of volumes) execFileSync("docker", ["volume", "rm", "-f", v]);
}

/** curl against `https://<sub>.<DOMAIN><pathAndQuery>` at `address`, trusting `ca`. */
export function curl(sub: string, address: string, ca: string, pathAndQuery: string, extra: string[] = []): Promise<ShResult> {
  const host = `${sub}.${DOMAIN}`;
  const args = ["-sS", "-i", "--max-time", "10", "--cacert", ca, "--resolve", `${host}:443:${address}`, ...extra, `https://${host}${pathAndQuery}`];
  return sh(["curl", ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" "));
}

export function statusOf(r: ShResult): number {
  return Number(/^HTTP\/\S+ (\d{3})/m.exec(r.stdout)?.[1] ?? 0);
}

export function header(r: ShResult, name: string): string | null {
  return new RegExp(`^${name}: (.*?)\\r?$`, "mi").exec(r.stdout)?.[1] ?? null;
}

export function bodyOf(r: ShResult): string {
  return r.stdout.split(/\r?\n\r?\n/).slice(1).join("\n\n");
}

/** A long-lived `curl -N` of /stream: counts the events received so far. */
export function openStream(sub: string, address: string, ca: string, cookie: string): { events: () => number; child: ChildProcess; close: () => void } {
  const host = `${sub}.${DOMAIN}`;
  const child = spawn("curl", ["-sN", "--max-time", "120", "--cacert", ca, "--resolve", `${host}:443:${address}`, "-H", `Cookie: ${cookie}`, `https://${host}/stream`], { stdio: ["ignore", "pipe", "ignore"] });
  let text = "";
  child.stdout!.on("data", (d) => (text += d));
  return { events: () => (text.match(/^data: /gm) ?? []).length, child, close: () => void child.kill() };
}

/** Every regular file under `dir` whose bytes contain `needle`. */
export function filesContaining(dir: string, needle: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = path.join(d, n);
      const st = statSync(p, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && st.size < 50_000_000 && readFileSync(p).includes(needle)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

export function modeOf(file: string): string {
  return (statSync(file).mode & 0o777).toString(8).padStart(4, "0");
}

/** A raw WebSocket upgrade through the proxy, then `payload`; returns everything received in 3 s. */
export function wsEcho(host: string, address: string, ca: string, token: string, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = tls.connect({ host: address, port: 443, servername: host, ca: readFileSync(ca), ALPNProtocols: ["http/1.1"] }, () => {
      sock.write(`GET /ws HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer ${token}\r\n\r\n`);
    });
    let got = "";
    let sent = false;
    sock.on("data", (d) => {
      got += d;
      if (!sent && got.startsWith("HTTP/1.1 101") && got.includes("\r\n\r\n")) {
        sent = true;
        sock.write(payload);
      }
    });
    sock.on("error", reject);
    setTimeout(() => {
      sock.destroy();
      resolve(got);
    }, 3000);
  });
}
