import type { UploadFile } from "../types.js";
import { shq } from "./quote.js";
import { stageFilesLines } from "./stage-files.js";

/** Remote paths of one instance. `root` and `customerId` are validated before they get here. */
export function instancePaths(root: string, customerId: string) {
  const dir = `${root.replace(/\/+$/, "")}/instances/${customerId}`;
  return { dir, staged: `${dir}/.staged`, script: `${dir}/.staged/provision.sh` };
}

/**
 * One round trip before the run: create the staging dir, write `files` into it from stdin (see
 * stageFilesLines; stdin is stageFilesStdin(files)), and report TCP listeners plus whether this
 * instance's own project already runs (its ports are then its own).
 */
export function prepareCommand(root: string, customerId: string, files: UploadFile[] = []): string {
  const { dir, staged } = instancePaths(root, customerId);
  return [
    "set -eu",
    `mkdir -p ${shq(staged)} && chmod 700 ${shq(dir)} ${shq(staged)}`,
    ...(files.length > 0 ? stageFilesLines(files) : []),
    ...listenerLines(customerId),
  ].join("\n");
}

/** The host's TCP listeners and whether the instance's own project runs, touching nothing (parsePrepare reads it). */
export function listenersCommand(customerId: string): string {
  return listenerLines(customerId).join("\n");
}

function listenerLines(customerId: string): string[] {
  return [
    `echo "own=$(docker ps -q --filter label=com.docker.compose.project=${shq("cf-" + customerId)} 2>/dev/null | head -n 1)"`,
    // /proc/net/tcp needs no extra tools; state 0A is LISTEN.
    "awk '$4 == \"0A\" { split($2, a, \":\"); print \"listen=\" a[2] }' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u",
  ];
}

export interface PrepareReport {
  ownContainer: string | null;
  listening: Set<number>;
}

export function parsePrepare(stdout: string): PrepareReport {
  const own = /^own=(\S*)$/m.exec(stdout)?.[1] || null;
  const listening = new Set<number>();
  for (const m of stdout.matchAll(/^listen=([0-9A-Fa-f]+)$/gm)) listening.add(parseInt(m[1]!, 16));
  return { ownContainer: own, listening };
}

export function runProvisionCommand(root: string, customerId: string): string {
  return `bash ${shq(instancePaths(root, customerId).script)}`;
}

/** Drops a staging dir that a failed run left behind; never touches the live files. */
export function cleanupStagedCommand(root: string, customerId: string): string {
  return `rm -rf ${shq(instancePaths(root, customerId).staged)}`;
}

/** provision.sh's result line; fields other than these stay `unknown` and are checked by the caller. */
export type ProvisionResultLine = Record<string, unknown> & {
  /** A fresh install's container could not be removed after a failure (false when a script predates the field). */
  containerLeft: boolean;
};

/** Parses provision.sh's last stdout line `CLAWFLEET_RESULT {json}`. */
export function parseResultLine(stdout: string): ProvisionResultLine | null {
  const lines = stdout.trimEnd().split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^CLAWFLEET_RESULT (\{.*\})\s*$/.exec(lines[i]!);
    if (!m) continue;
    try {
      // The pattern admits only an object; a field older scripts lack gets its default.
      const fields = JSON.parse(m[1]!) as Record<string, unknown>;
      return { ...fields, containerLeft: fields.containerLeft === true };
    } catch {
      return null;
    }
  }
  return null;
}
