import type { ExecResult } from "../types.js";

/** One remote round trip: the host's memory, can this user run docker, which compose is there. */
export function dockerCheckCommand(): string {
  return [
    "set -u",
    // First, so a host without docker still reports it; kB in /proc/meminfo, "mem=" when unreadable.
    "echo \"mem=$(awk '$1 == \"MemTotal:\" { print int($2 / 1024) }' /proc/meminfo 2>/dev/null)\"",
    "if ! command -v docker >/dev/null 2>&1; then echo 'docker=missing'; exit 0; fi",
    "if v=$(docker version --format '{{.Server.Version}}' 2>&1); then echo \"docker=ok $v\"; else echo \"docker=denied $(echo \"$v\" | tail -n 1)\"; fi",
    "if docker compose version >/dev/null 2>&1; then echo 'compose=v2'; elif command -v docker-compose >/dev/null 2>&1; then echo 'compose=v1'; else echo 'compose=missing'; fi",
  ].join("\n");
}

export interface DockerCheck {
  ok: boolean;
  detail: string;
  /** MemTotal in MB (MiB, as /proc/meminfo's kB are KiB); null when it could not be read. */
  memTotalMb: number | null;
}

export function parseDockerCheck(res: ExecResult): DockerCheck {
  const memTotalMb = parseMem(res.stdout);
  return { ...dockerVerdict(res), memTotalMb };
}

function parseMem(stdout: string): number | null {
  const mb = /^mem=(\d+)$/m.exec(stdout)?.[1];
  return mb === undefined || Number(mb) === 0 ? null : Number(mb);
}

function dockerVerdict(res: ExecResult): Omit<DockerCheck, "memTotalMb"> {
  const docker = /^docker=(\w+) ?(.*)$/m.exec(res.stdout);
  const compose = /^compose=(\w+)$/m.exec(res.stdout)?.[1] ?? "unknown";
  if (!docker) return { ok: false, detail: `could not check docker (exit ${res.code}): ${res.stderr.trim().slice(-200)}` };
  switch (docker[1]) {
    case "ok":
      return { ok: true, detail: `docker ${docker[2]}, compose ${compose}` };
    case "missing":
      return { ok: false, detail: "docker is not installed; provision installs it from the distro's packages when run as root or with sudo" };
    default:
      return {
        ok: false,
        detail: `this user cannot run docker (${docker[2]}); fix: add the user to the docker group (sudo usermod -aG docker USER) and reconnect`,
      };
  }
}
