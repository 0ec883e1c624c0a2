import type { Client } from "ssh2";
import { describe, expect, it } from "vitest";
import { InputError, RemoteCommandError } from "../../../src/errors.js";
import { stageFilesStdin } from "../../../src/remote/commands/stage-files.js";
import { FileTransfer, isNoSftp } from "../../../src/remote/ssh-transfer.js";
import type { ExecOptions, ExecResult, UploadFile } from "../../../src/remote/types.js";

const NO_SUBSYSTEM = "Unable to start subsystem: sftp";
const target = { name: "h1", address: "10.0.0.1", port: 22, user: "ops" };
const files: UploadFile[] = [{ path: "/srv/cf/a/.env", content: "TOKEN=s3cret\n", mode: 0o600 }];

/** A client whose SFTP requests fail with `sftpError` (or succeed with a stub session); execs are recorded. */
function setup(sftpError?: string, answer: Partial<ExecResult> = {}) {
  const execs: { command: string; options: ExecOptions }[] = [];
  let sftpCalls = 0;
  const client = {
    sftp(cb: (err: Error | undefined, sftp?: unknown) => void) {
      sftpCalls++;
      if (sftpError) return cb(new Error(sftpError));
      cb(undefined, { on() {}, _maxWriteLen: 1024 });
    },
  } as unknown as Client;
  const transfer = new FileTransfer({
    client,
    target,
    exec: async (command, options) => {
      execs.push({ command, options });
      return { stdout: "", stderr: "", code: 0, timedOut: false, ...answer };
    },
    lost: () => undefined,
  });
  return { transfer, execs, sftpCalls: () => sftpCalls };
}

describe("isNoSftp", () => {
  it("matches only ssh2's refused-subsystem error", () => {
    expect(isNoSftp(new Error(NO_SUBSYSTEM))).toBe(true);
    expect(isNoSftp(new Error("Received exit code 1 while establishing SFTP session"))).toBe(false);
    expect(isNoSftp(new Error("Permission denied"))).toBe(false);
    expect(isNoSftp(new Error("Unable to start subsystem: foo"))).toBe(false);
    expect(isNoSftp(NO_SUBSYSTEM)).toBe(false);
  });
});

describe("FileTransfer on a host without SFTP", () => {
  it("uploads over exec with the contents on stdin only, and asks for SFTP just once per connection", async () => {
    const { transfer, execs, sftpCalls } = setup(NO_SUBSYSTEM);
    await transfer.upload(files);
    await transfer.upload(files);
    expect(sftpCalls()).toBe(1);
    expect(await transfer.kind()).toBe("exec");
    expect(execs).toHaveLength(2);
    expect(execs[0]!.command).toContain("cf_stage '/srv/cf/a/.env' 0600");
    expect(execs[0]!.command).not.toContain("s3cret");
    expect(execs[0]!.options.stdin).toBe(stageFilesStdin(files));
    expect(execs[0]!.options.timeoutMs).toBeGreaterThan(0);
  });

  it("turns a failed write into an upload error naming the file", async () => {
    const { transfer } = setup(NO_SUBSYSTEM, { code: 65, stderr: "mktemp: failed\ncannot write /srv/cf/a/.env\n" });
    const err = await transfer.upload(files).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err).toMatchObject({ step: "upload", host: "h1" });
    expect(err.message).toContain("cannot upload /srv/cf/a/.env to h1");
    expect(err.hint).toContain("parent directory must exist");
  });

  it("reports a timeout or another exit as an upload error too", async () => {
    const { transfer } = setup(NO_SUBSYSTEM, { code: 124, timedOut: true });
    await expect(transfer.upload(files)).rejects.toThrow(/over exec \(no SFTP\) timed out/);
  });

  it("still refuses a relative path before sending anything", async () => {
    const { transfer, execs } = setup(NO_SUBSYSTEM);
    await expect(transfer.upload([{ path: "rel/x", content: "x", mode: 0o644 }])).rejects.toBeInstanceOf(InputError);
    expect(execs).toHaveLength(0);
  });
});

describe("FileTransfer on other SFTP failures", () => {
  it("does not fall back: the error surfaces as before and the next upload asks for SFTP again", async () => {
    const { transfer, execs, sftpCalls } = setup("Received exit code 1 while establishing SFTP session");
    const err = await transfer.upload(files).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err.message).toContain("cannot start SFTP on h1");
    await expect(transfer.kind()).rejects.toBeInstanceOf(RemoteCommandError);
    expect(sftpCalls()).toBe(2);
    expect(execs).toHaveLength(0);
  });

  it("says sftp where the session opens", async () => {
    const { transfer, sftpCalls } = setup();
    expect(await transfer.kind()).toBe("sftp");
    expect(await transfer.kind()).toBe("sftp");
    expect(sftpCalls()).toBe(1);
  });
});
