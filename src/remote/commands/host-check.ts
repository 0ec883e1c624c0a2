import type { ExecResult } from "../types.js";

/** One remote round trip: can this user run docker, which compose is there, is the remote root usable. */
export function dockerCheckCommand(): string {
  return [
    "set -u",
    "if ! command -v docker >/dev/null 2>&1; then echo 'docker=missing'; exit 0; fi",
    "if v=$(docker version --format '{{.Server.Version}}' 2>&1); then echo \"docker=ok $v\"; else echo \"docker=denied $(echo \"$v\" | tail -n 1)\"; fi",
    "if docker compose version >/dev/null 2>&1; then echo 'compose=v2'; elif command -v docker-compose >/dev/null 2>&1; then echo 'compose=v1'; else echo 'compose=missing'; fi",
  ].join("\n");
}

export interface DockerCheck {
  ok: boolean;
  detail: string;
}

export function parseDockerCheck(res: ExecResult): DockerCheck {
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
