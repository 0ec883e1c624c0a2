import { execFile } from "node:child_process";

/** Local tools validate-config runs. Each resolves; a missing binary is `missing: true`, never a throw. */

export interface ToolRun {
  code: number | null;
  stdout: string;
  stderr: string;
  missing: boolean;
  durationMs: number;
}

export function runTool(bin: string, args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ToolRun> {
  const started = performance.now();
  return new Promise((resolve) => {
    execFile(bin, args, { cwd: opts.cwd, env: opts.env, timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
      resolve({
        code: e ? (typeof e.code === "number" ? e.code : null) : 0,
        stdout: String(stdout),
        stderr: String(stderr),
        missing: e?.code === "ENOENT",
        durationMs: Math.round(performance.now() - started),
      });
    });
  });
}

export interface ShellcheckComment {
  file: string;
  line: number;
  code: number;
  level: string;
  message: string;
}

export const SHELLCHECK_ARGS = ["--norc", "--shell=bash", "--format=json1"];

/** Runs shellcheck once over every file; null when shellcheck is not installed. */
export async function shellcheck(bin: string, files: string[]): Promise<ShellcheckComment[] | null> {
  if (files.length === 0) return [];
  const run = await runTool(bin, [...SHELLCHECK_ARGS, ...files]);
  if (run.missing) return null;
  try {
    const doc = JSON.parse(run.stdout) as { comments: ShellcheckComment[] };
    return doc.comments;
  } catch {
    throw new Error(`shellcheck failed (exit ${run.code}): ${run.stderr.trim().split("\n")[0] ?? ""}`);
  }
}

/** `bash -n`: the first syntax error, or null when the script parses. */
export async function bashSyntax(bin: string, file: string): Promise<{ line: number | null; message: string } | null> {
  const run = await runTool(bin, ["-n", file]);
  if (run.missing) throw new Error(`${bin} is not installed`);
  if (run.code === 0) return null;
  const first = run.stderr.trim().split("\n")[0] ?? "syntax error";
  const m = /: line (\d+): (.*)$/.exec(first);
  return { line: m ? Number(m[1]) : null, message: m?.[2] ?? first };
}

export interface ComposeCli {
  tool: "docker compose" | "docker-compose";
  argv: string[];
}

/** Compose v2 (the docker plugin) when present, else v1 (`docker-compose`), else null. */
export async function detectComposeCli(): Promise<ComposeCli | null> {
  const [v2, v1] = await Promise.all([runTool("docker", ["compose", "version"]), runTool("docker-compose", ["version"])]);
  if (v2.code === 0) return { tool: "docker compose", argv: ["docker", "compose"] };
  if (!v1.missing && v1.code === 0) return { tool: "docker-compose", argv: ["docker-compose"] };
  return null;
}

/** `<compose> -f FILE config -q`; null when it passes, else its error text. */
export async function composeConfig(cli: ComposeCli, file: string, cwd: string): Promise<string | null> {
  const [bin, ...pre] = cli.argv as [string, ...string[]];
  const run = await runTool(bin, [...pre, "--project-name", "cf-validate", "--file", file, "config", "-q"], { cwd });
  return run.code === 0 ? null : run.stderr.trim() || `exit ${run.code}`;
}
