/** What Docker said about one container. */
export interface ContainerFacts {
  customerId: string;
  managed: boolean;
  state: string;
  /** Docker's own health: healthy, unhealthy, starting, or none. */
  dockerHealth: string;
  restartCount: number;
  startedAt: string;
  exitCode: number;
}

/** One loopback GET /healthz. `code` 0 means no HTTP answer (refused, reset or timed out). */
export interface ProbeFacts {
  code: number;
  latencyMs: number | null;
  via: "curl" | "wget" | "bash";
}

export interface SweepOutput {
  containers: Map<string, ContainerFacts>;
  /** Customers whose container Docker says does not exist. */
  missing: Set<string>;
  probes: Map<number, ProbeFacts>;
  /** Docker output that was neither a container nor a "no such" line: daemon down, no permission… */
  dockerError: string | null;
  /** The host has no bash, curl or wget to probe with. */
  noProbeTool: boolean;
  /** The script reached its end marker; without it, missing answers are unknown, not failures. */
  complete: boolean;
}

type Token = [key: string, value: string];

/** Parses sweepScript's stdout. Never throws: unknown lines become dockerError text. */
export function parseSweep(stdout: string): SweepOutput {
  const out: SweepOutput = { containers: new Map(), missing: new Set(), probes: new Map(), dockerError: null, noProbeTool: false, complete: false };
  const errors: string[] = [];
  let tokens: Token[] = [];
  for (const raw of stdout.split("\n")) {
    const line = raw.trimEnd();
    if (line === "" || /^V\|\d+$/.test(line)) continue;
    const token = /^"([A-Za-z.]+)":("?)(.*)\2$/.exec(line);
    if (token) tokens.push([token[1]!, token[3]!]);
    else if (line.startsWith("D|")) {
      apiResponse(line, tokens, out, errors);
      tokens = [];
    } else if (line === "END|") out.complete = true;
    else if (line === "N|") out.noProbeTool = true;
    else if (!factLine(line, out)) errors.push(line);
  }
  if (errors.length > 0) out.dockerError = errors.slice(0, 5).join("; ").slice(0, 500);
  return out;
}

/** One Engine API inspect: its fields arrive as tokens, in Docker's field order, then the D| line. */
function apiResponse(line: string, tokens: Token[], out: SweepOutput, errors: string[]): void {
  const [, code, url] = line.split("|");
  const customerId = /\/containers\/cf-([^/]+)\/json$/.exec(url ?? "")?.[1];
  if (!customerId) return void errors.push(line);
  if (code === "404") return void out.missing.add(customerId);
  if (code !== "200") return void errors.push(code === "000" ? "cannot reach the Docker Engine socket" : `Docker Engine API answered HTTP ${code} for cf-${customerId}`);
  // State.Status, State.ExitCode and State.StartedAt come first; a second Status before RestartCount is State.Health's.
  const end = tokens.findIndex(([k]) => k === "RestartCount");
  const state = end < 0 ? tokens : tokens.slice(0, end);
  const first = (k: string, list = state) => list.find(([key]) => key === k)?.[1];
  const statuses = state.filter(([k]) => k === "Status").map(([, v]) => v);
  out.containers.set(customerId, {
    customerId,
    managed: first("io.clawfleet.managed", tokens) === "true" && first("io.clawfleet.customer", tokens) === customerId,
    state: statuses[0] ?? "unknown",
    dockerHealth: statuses[1] ?? "none",
    restartCount: Number(end >= 0 ? tokens[end]![1] : 0) || 0,
    startedAt: first("StartedAt") ?? "",
    exitCode: Number(first("ExitCode")) || 0,
  });
}

function factLine(line: string, out: SweepOutput): boolean {
  const missing = /No such (?:object|container): cf-(\S+)/.exec(line);
  if (missing) return Boolean(out.missing.add(missing[1]!));
  const f = line.split("|");
  if (f[0] === "C" && f.length === 8) {
    out.containers.set(f[2]!, {
      customerId: f[2]!, managed: f[1] === "true", state: f[3]!, dockerHealth: f[4]!,
      restartCount: Number(f[5]) || 0, startedAt: f[6]!, exitCode: Number(f[7]) || 0,
    });
    return true;
  }
  if (f[0] === "B" && f.length === 5) return probe(out, Number(f[1]), Number(f[2]) || 0, latency(f[3]!, f[4]!), "bash");
  if (f[0] === "H" && f.length === 4) {
    const seconds = Number(f[2]);
    return probe(out, portOfUrl(f[3]!), Number(f[1]) || 0, Number.isFinite(seconds) ? Math.round(seconds * 1000) : null, "curl");
  }
  // wget exits 0 on 2xx and 8 on any other HTTP status.
  if (f[0] === "W" && f.length === 3) return probe(out, Number(f[2]), f[1] === "0" ? 200 : f[1] === "8" ? 500 : 0, null, "wget");
  return false;
}

function probe(out: SweepOutput, port: number | null, code: number, latencyMs: number | null, via: ProbeFacts["via"]): boolean {
  if (port === null || !Number.isInteger(port)) return false;
  out.probes.set(port, { code, latencyMs, via });
  return true;
}

/** $EPOCHREALTIME pairs (the decimal mark follows the locale); null before bash 5. */
function latency(start: string, end: string): number | null {
  const s = Number(start.replace(",", "."));
  const e = Number(end.replace(",", "."));
  return start && end && Number.isFinite(s) && Number.isFinite(e) ? Math.max(0, Math.round((e - s) * 1000)) : null;
}

function portOfUrl(url: string): number | null {
  const m = /^http:\/\/127\.0\.0\.1:(\d+)\//.exec(url);
  return m ? Number(m[1]) : null;
}
