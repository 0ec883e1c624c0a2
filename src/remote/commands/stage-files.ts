import type { UploadFile } from "../types.js";
import { shq } from "./quote.js";

/** Exit status when a file could not be written on the host. */
export const EXIT_STAGE_FAILED = 65;

/**
 * Files over the exec channel's stdin, one base64 line each, written as SFTP uploads are: a 0600
 * mktemp beside the target, fsync, chmod, then rename over the target, so a reader sees the old
 * file or the new one, never a part. It rides in the same round trip as the command around it,
 * where SFTP costs ~6 (channel, subsystem, init, open, writes, rename). Contents (secrets) travel
 * only on stdin; the script's own text holds paths and modes. POSIX sh; needs base64 and mktemp.
 */
export function stageFilesLines(files: UploadFile[]): string[] {
  const dirs = [...new Set(files.map((f) => f.path.slice(0, f.path.lastIndexOf("/"))))];
  return [
    // Temps of a run that died mid-write; ours are younger than 10 minutes.
    ...dirs.map((d) => `find ${shq(d)} -maxdepth 1 -name '.*.cf-tmp-*' -mmin +10 -exec rm -f {} + 2>/dev/null || true`),
    "cf_stage() {",
    '  cf_t=$(mktemp "${1%/*}/.${1##*/}.cf-tmp-XXXXXX") || return 1',
    '  if IFS= read -r cf_l && printf \'%s\' "$cf_l" | base64 -d >"$cf_t" && { sync "$cf_t" 2>/dev/null || sync; } && chmod "$2" "$cf_t" && mv -f "$cf_t" "$1"; then return 0; fi',
    '  rm -f "$cf_t"',
    "  return 1",
    "}",
    ...files.map((f) => `cf_stage ${shq(f.path)} ${modeOf(f)} || { echo ${shq(`cannot write ${f.path}`)} >&2; exit ${EXIT_STAGE_FAILED}; }`),
  ];
}

/**
 * The whole remote side of an upload over exec, for hosts without an SFTP subsystem; its stdin is
 * stageFilesStdin(files). Stops at the first file it cannot write (exit 65), leaving it and the
 * rest unchanged.
 */
export function uploadScript(files: UploadFile[]): string {
  return ["set -u", ...stageFilesLines(files)].join("\n");
}

/** What stageFilesLines reads: each file's bytes as one base64 line, in the same order. */
export function stageFilesStdin(files: UploadFile[]): string {
  return files.map((f) => (typeof f.content === "string" ? Buffer.from(f.content, "utf8") : f.content).toString("base64") + "\n").join("");
}

function modeOf(f: UploadFile): string {
  if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o7777) throw new RangeError(`invalid mode ${f.mode} for ${f.path}`);
  return "0" + f.mode.toString(8);
}
