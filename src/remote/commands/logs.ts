import { instancePaths } from "./instance.js";
import { LABEL_PROJECT } from "./inspect.js";
import { shq } from "./quote.js";

/** Exit status when the instance has no container to read logs from. */
export const EXIT_NO_CONTAINER = 66;

export interface LogsOptions {
  tail?: number;
  /** Seconds back from now. */
  sinceSec?: number;
  follow?: boolean;
}

/**
 * The container's stdout and stderr, merged. Values from the instance's .env are masked on the
 * host before anything is sent, in case the gateway ever logs one; the .env itself is never printed.
 */
export function logsCommand(root: string, customerId: string, opts: LogsOptions = {}): string {
  const { dir } = instancePaths(root, customerId);
  const flags = [
    opts.tail !== undefined ? `--tail ${Math.max(0, Math.floor(opts.tail))}` : "",
    opts.sinceSec !== undefined ? `--since ${Math.max(1, Math.floor(opts.sinceSec))}s` : "",
    opts.follow ? "--follow" : "",
  ].filter(Boolean);
  return [
    "set -u",
    `cid=$(docker ps -aq --filter ${shq(`label=${LABEL_PROJECT}=cf-${customerId}`)} | head -n 1)`,
    `if [ -z "$cid" ]; then echo 'the instance has no container on this host' >&2; exit ${EXIT_NO_CONTAINER}; fi`,
    // mawk block-buffers a pipe unless interactive; gawk and busybox awk pass lines on as they come.
    'if awk -W version 2>/dev/null | grep -q mawk; then cfawk() { awk -W interactive "$@"; }; else cfawk() { awk "$@"; }; fi',
    `docker logs ${flags.join(" ")} "$cid" 2>&1 | cfawk -v envfile=${shq(dir + "/.env")} ${shq(REDACT_AWK)}`,
  ].join("\n");
}

// Reads secret values (8+ chars) from .env, then replaces each occurrence on every line; flushes per line for --follow.
const REDACT_AWK = [
  'BEGIN { n = 0; while ((getline line < envfile) > 0) { i = index(line, "="); if (i > 1 && substr(line, 1, 1) != "#") { v = substr(line, i + 1); if (length(v) >= 8) s[++n] = v } } close(envfile) }',
  '{ for (k = 1; k <= n; k++) { while ((p = index($0, s[k])) > 0) $0 = substr($0, 1, p - 1) "[redacted]" substr($0, p + length(s[k])) } print; fflush() }',
].join(" ");
