import { shq } from "./quote.js";
import { instancePaths } from "./instance.js";

/**
 * A script that defines `cfc` (compose for this instance, v2 or v1 as the host has it),
 * then runs `body`. Exit 69: no compose on the host.
 */
export function composeScript(root: string, customerId: string, body: string): string {
  const { dir } = instancePaths(root, customerId);
  const flags = `--ansi never --project-name ${shq("cf-" + customerId)} --project-directory ${shq(dir)} --file ${shq(dir + "/docker-compose.yml")}`;
  return [
    "set -eu",
    `if docker compose version >/dev/null 2>&1; then cfc() { docker compose ${flags} "$@"; }`,
    `elif command -v docker-compose >/dev/null 2>&1; then cfc() { docker-compose ${flags} "$@"; }`,
    "else echo 'docker compose is not installed' >&2; exit 69; fi",
    `cd ${shq(dir)}`,
    body,
  ].join("\n");
}
