import type { ExecOptions, ExecResult, RemoteShell, UploadFile } from "../../src/remote/types.js";
import type { Connector } from "../../src/app/ports.js";

export type Responder = (command: string, options: ExecOptions) => Partial<ExecResult> | Promise<Partial<ExecResult>>;

/** Records every command, stdin and upload; answers with `respond`. */
export class RecordingShell implements RemoteShell {
  readonly commands: { command: string; stdin?: string }[] = [];
  readonly uploads: UploadFile[] = [];
  constructor(readonly hostName: string, private respond: Responder = () => ({})) {}

  async exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    this.commands.push({ command, stdin: options.stdin?.toString() });
    const r = await this.respond(command, options);
    const res: ExecResult = { stdout: "", stderr: "", code: 0, timedOut: false, ...r };
    if (res.stdout) options.onStdout?.(res.stdout);
    return res;
  }

  async upload(files: UploadFile[]): Promise<void> {
    this.uploads.push(...files);
  }
}

/** A Connector over RecordingShells; `hostKey` is what the fake host presents. */
export function fakeConnector(shell: RecordingShell, hostKey = "SHA256:" + "A".repeat(43)): Connector & { forgotten: string[] } {
  const forgotten: string[] = [];
  return {
    forgotten,
    shell: async () => shell,
    probe: async () => ({ fingerprint: hostKey, shell, close: () => {} }),
    forget: (n) => void forgotten.push(n),
    closeAll: async () => {},
  };
}

export const manualClock = (start = new Date("2026-11-24T00:00:00Z")) => {
  let t = start.getTime();
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
};
