import { imageRefProblem } from "../domain/images.js";
import { parseSize } from "../domain/sizes.js";

/** What a rendered compose file is checked against, beyond the fixed hardening items. */
export interface ComposeExpectations {
  customerId?: string;
  plan?: string;
  dataPath?: string;
  memory?: string;
  cpus?: number;
  pids?: number;
  image?: string;
}

type Obj = Record<string, unknown>;
/** A rule returns problems as [message, path below the service] pairs; an empty list passes. */
export type ServiceRule = (svc: Obj, ctx: { doc: Obj; expect: ComposeExpectations }) => [string, string[]][];

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : typeof v === "string" ? [v] : []);
const bytes = (v: unknown): number | null =>
  typeof v === "number" ? v : typeof v === "string" ? (/^[0-9]+$/.test(v) ? Number(v) : parseSize(v.toLowerCase())) : null;

function labelsOf(svc: Obj): Map<string, string> {
  const labels = new Map<string, string>();
  if (isObj(svc.labels)) for (const [k, v] of Object.entries(svc.labels)) labels.set(k, String(v));
  else for (const item of list(svc.labels)) if (typeof item === "string") labels.set(item.split("=")[0] ?? "", item.slice(item.indexOf("=") + 1));
  return labels;
}

const one = (ok: boolean, message: string, at: string[] = []): [string, string[]][] => (ok ? [] : [[message, at]]);

/** The hardening items of DESIGN.md's gateway contract, by name. */
export const SERVICE_RULES: Record<string, ServiceRule> = {
  "image-pinned": (s, { expect }) => {
    if (typeof s.image !== "string") return [["image: missing", []]];
    const problem = imageRefProblem(s.image);
    if (problem) return [[`image: ${problem}`, ["image"]]];
    return one(!expect.image || s.image === expect.image, `image: expected ${expect.image}`, ["image"]);
  },
  cap_drop: (s) => one(list(s.cap_drop).includes("ALL"), "cap_drop: must include ALL", ["cap_drop"]),
  "no-new-privileges": (s) =>
    one(list(s.security_opt).some((o) => o === "no-new-privileges:true" || o === "no-new-privileges"),
      'security_opt: must include "no-new-privileges:true"', ["security_opt"]),
  read_only: (s) => one(s.read_only === true, "read_only: must be true", ["read_only"]),
  "tmpfs-tmp": (s) => one(list(s.tmpfs).some((t) => typeof t === "string" && /^\/tmp(:|$)/.test(t)), "tmpfs: must mount /tmp", ["tmpfs"]),
  "data-volume": (s, { doc, expect }) => {
    const volumes = isObj(doc.volumes) ? doc.volumes : {};
    const wantName = expect.customerId ? `cf-${expect.customerId}-data` : null;
    const ok = list(s.volumes).some((v) => {
      const [source, target] = isObj(v) ? [v.source, v.target] : typeof v === "string" ? v.split(":") : [];
      if (typeof source !== "string" || (isObj(v) && v.type !== "volume")) return false;
      const top = volumes[source];
      const name = isObj(top) && typeof top.name === "string" ? top.name : source;
      return (wantName ? name === wantName : /^cf-[a-z0-9-]+-data$/.test(name)) && (!expect.dataPath || target === expect.dataPath);
    });
    return one(ok, `volumes: named volume ${wantName ?? "cf-<id>-data"} must be mounted at ${expect.dataPath ?? "the plan's dataPath"}`, ["volumes"]);
  },
  pids_limit: (s, { expect }) => {
    const ok = typeof s.pids_limit === "number" && s.pids_limit > 0 && (!expect.pids || s.pids_limit === expect.pids);
    return one(ok, `pids_limit: must be ${expect.pids ?? "a positive number"}`, ["pids_limit"]);
  },
  mem_limit: (s, { expect }) => {
    const mem = bytes(s.mem_limit);
    const ok = mem !== null && mem > 0 && (!expect.memory || mem === parseSize(expect.memory));
    return one(ok, `mem_limit: must be ${expect.memory ?? "set"}`, ["mem_limit"]);
  },
  memswap_limit: (s) => {
    const mem = bytes(s.mem_limit);
    return one(mem !== null && bytes(s.memswap_limit) === mem, "memswap_limit: must equal mem_limit (no swap)", ["memswap_limit"]);
  },
  cpus: (s, { expect }) => {
    const cpus = typeof s.cpus === "string" ? Number(s.cpus) : s.cpus;
    const ok = typeof cpus === "number" && cpus > 0 && (!expect.cpus || cpus === expect.cpus);
    return one(ok, `cpus: must be ${expect.cpus ?? "a positive number"}`, ["cpus"]);
  },
  logging: (s) => {
    const l = isObj(s.logging) ? s.logging : {};
    const o = isObj(l.options) ? l.options : {};
    return one(l.driver === "json-file" && o["max-size"] != null && o["max-file"] != null,
      "logging: must be json-file with max-size and max-file", ["logging"]);
  },
  healthcheck: (s) => {
    const h = isObj(s.healthcheck) ? s.healthcheck : {};
    const test = list(h.test);
    return one(h.disable !== true && test.length > 0 && test[0] !== "NONE", "healthcheck: missing (a test is required)", ["healthcheck"]);
  },
  restart: (s) => one(s.restart === "unless-stopped", "restart: must be unless-stopped", ["restart"]),
  labels: (s, { expect }) => {
    const labels = labelsOf(s);
    const want: Record<string, string | undefined> = {
      "io.clawfleet.managed": "true",
      "io.clawfleet.customer": expect.customerId,
      "io.clawfleet.plan": expect.plan,
      "io.clawfleet.config-hash": undefined,
    };
    return Object.entries(want).flatMap(([key, value]): [string, string[]][] => {
      const got = labels.get(key);
      if (got === undefined || got === "") return [[`labels: missing ${key}`, ["labels"]]];
      return one(value === undefined || got === value, `labels: ${key} must be ${JSON.stringify(value)}`, ["labels", key]);
    });
  },
  "ports-loopback": (s) =>
    list(s.ports).flatMap((p, i): [string, string[]][] =>
      typeof p === "string" && /^127\.0\.0\.1:[0-9]+(-[0-9]+)?:[0-9]+(-[0-9]+)?(\/(tcp|udp))?$/.test(p)
        ? []
        : [[`ports: ${JSON.stringify(p)} must be bound as "127.0.0.1:<host>:<container>"`, ["ports", String(i)]]],
    ),
  env_file: (s) => one(list(s.env_file).includes(".env"), "env_file: must include .env", ["env_file"]),
  "no-privileged": (s) => one(s.privileged !== true && list(s.cap_add).length === 0, "privileged/cap_add: no extra privileges allowed", []),
  "no-host-namespaces": (s) =>
    one(!["network_mode", "pid", "ipc", "userns_mode"].some((k) => s[k] === "host"), "network_mode/pid/ipc: must not share the host's", []),
};
