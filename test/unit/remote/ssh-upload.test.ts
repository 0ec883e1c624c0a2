import { describe, expect, it } from "vitest";
import { RemoteCommandError } from "../../../src/errors.js";
import type { Sftp } from "../../../src/remote/ssh-sftp.js";
import { STALE_TEMP_MS, uploadFiles } from "../../../src/remote/ssh-upload.js";

type Call = { op: string; args: unknown[]; settle: (err?: Error) => void };

/** Records requests in send order; replies come only when the test releases them, like a slow link. */
class FakeSftp implements Sftp {
  readonly maxWriteLen = 4;
  calls: Call[] = [];
  failOn: Partial<Record<string, Error>> = {};
  dirEntries: { filename: string; attrs: { mtime: number } }[] = [];
  files = new Map<string, string>();

  #request<T>(op: string, args: unknown[], value?: T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.calls.push({
        op,
        args,
        settle: () => {
          const err = this.failOn[op];
          if (err) reject(err);
          else resolve(value as T);
        },
      });
    });
  }
  open = (path: string, flags: string, mode: number) => this.#request("open", [path, flags, mode], Buffer.from(path));
  write = (h: Buffer, data: Buffer, pos: number) => this.#request<void>("write", [h.toString(), data.toString(), pos]);
  fchmod = (h: Buffer, mode: number) => this.#request<void>("fchmod", [h.toString(), mode]);
  fsync = (h: Buffer) => this.#request<void>("fsync", [h.toString()]);
  close = (h: Buffer) => this.#request<void>("close", [h.toString()]);
  rename = (from: string, to: string) => this.#request<void>("rename", [from, to]);
  unlink = (path: string) => this.#request<void>("unlink", [path]);
  opendir = (path: string) => this.#request("opendir", [path], Buffer.from(`dir:${path}`));
  readdir = (h: Buffer) => this.#request("readdir", [h.toString()], this.dirEntries as never);

  /** Replies to everything sent so far, as one round trip would; returns how many were answered. */
  roundTrip(): number {
    const batch = this.calls.filter((c) => !(c as { done?: boolean }).done);
    batch.forEach((c) => {
      (c as { done?: boolean }).done = true;
      c.settle();
    });
    return batch.length;
  }
  ops = (op: string) => this.calls.filter((c) => c.op === op);
}

async function drive(sftp: FakeSftp, work: Promise<void>): Promise<number> {
  let done = false;
  let failure: unknown;
  work.then(() => (done = true), (err) => { done = true; failure = err; });
  let trips = 0;
  for (; !done && trips < 20; trips++) {
    await new Promise((r) => setTimeout(r, 0));
    if (sftp.roundTrip() === 0 && done) break;
    await new Promise((r) => setTimeout(r, 0));
  }
  if (failure) throw failure;
  return trips;
}

describe("uploadFiles", () => {
  it("writes a 0600 temp with O_EXCL, pipelines writes, fchmod, fsync and close, then renames", async () => {
    const sftp = new FakeSftp();
    await drive(sftp, uploadFiles(sftp, "sbx-1", "k1", [{ path: "/srv/i/.env", content: "A=12345\n", mode: 0o600 }]));
    const mine = sftp.calls.filter((c) => !["opendir", "readdir"].includes(c.op) && !(c.op === "close" && String(c.args[0]).startsWith("dir:")));
    const temp = mine[0]!.args[0] as string;
    expect(temp).toMatch(/^\/srv\/i\/\.\.env\.cf-tmp-[0-9a-f]{12}$/);
    expect(mine.map((c) => [c.op, ...c.args])).toEqual([
      ["open", temp, "wx", 0o600],
      ["write", temp, "A=12", 0],
      ["write", temp, "345\n", 4],
      ["fchmod", temp, 0o600],
      ["fsync", temp],
      ["close", temp],
      ["rename", temp, "/srv/i/.env"],
    ]);
  });

  it("uploads files in parallel in three round trips", async () => {
    const sftp = new FakeSftp();
    const files = ["a", "b", "c"].map((n) => ({ path: `/srv/i/${n}`, content: "x".repeat(10), mode: 0o644 }));
    const work = uploadFiles(sftp, "sbx-1", "k2", files);
    await new Promise((r) => setTimeout(r, 0));
    expect(sftp.ops("open")).toHaveLength(3);
    sftp.roundTrip();
    await new Promise((r) => setTimeout(r, 0));
    expect(sftp.ops("write")).toHaveLength(9);
    expect(sftp.ops("rename")).toHaveLength(0);
    sftp.roundTrip();
    await new Promise((r) => setTimeout(r, 0));
    expect(sftp.ops("rename")).toHaveLength(3);
    sftp.roundTrip();
    await new Promise((r) => setTimeout(r, 0));
    sftp.roundTrip();
    await work;
  });

  it("never renames after a failed write, and removes the temp", async () => {
    const sftp = new FakeSftp();
    sftp.failOn.write = Object.assign(new Error("Failure"), { code: 4 });
    const err = await drive(sftp, uploadFiles(sftp, "sbx-1", "k3", [{ path: "/srv/i/.env", content: "secret", mode: 0o600 }])).catch((e) => e);
    expect(err).toBeInstanceOf(RemoteCommandError);
    expect(err).toMatchObject({ host: "sbx-1", step: "upload" });
    expect(err.message).toBe("cannot upload /srv/i/.env to sbx-1: Failure");
    expect(err.message).not.toContain("secret");
    expect(sftp.ops("rename")).toHaveLength(0);
    expect(sftp.ops("close").some((c) => String(c.args[0]).includes("cf-tmp"))).toBe(true);
    expect(sftp.ops("unlink").map((c) => c.args[0])).toEqual([sftp.ops("open")[0]!.args[0]]);
  });

  it("removes a temp whose connection died on the next upload to that host", async () => {
    const dead = new FakeSftp();
    const lost = new Error("No response from server");
    dead.failOn.fsync = lost;
    dead.failOn.unlink = lost;
    await expect(drive(dead, uploadFiles(dead, "sbx-1", "k4", [{ path: "/srv/i/.env", content: "x", mode: 0o600 }]))).rejects.toThrow();
    const orphan = dead.ops("open")[0]!.args[0];

    const next = new FakeSftp();
    await drive(next, uploadFiles(next, "sbx-1", "k4", [{ path: "/srv/i/other", content: "y", mode: 0o644 }]));
    expect(next.ops("unlink").map((c) => c.args[0])).toEqual([orphan]);
  });

  it("sweeps stale temps of the uploaded names, leaving fresh ones and other files", async () => {
    const sftp = new FakeSftp();
    const now = Date.now() / 1000;
    const old = now - STALE_TEMP_MS / 1000 - 60;
    sftp.dirEntries = [
      { filename: ".env.cf-tmp-aaaaaaaaaaaa", attrs: { mtime: old } },
      { filename: ".env.cf-tmp-bbbbbbbbbbbb", attrs: { mtime: now } },
      { filename: ".docker-compose.yml.cf-tmp-cccccccccccc", attrs: { mtime: old } },
      { filename: "env", attrs: { mtime: old } },
    ];
    await drive(sftp, uploadFiles(sftp, "sbx-1", "k5", [{ path: "/srv/i/env", content: "x", mode: 0o600 }]));
    expect(sftp.ops("unlink").map((c) => c.args[0])).toEqual(["/srv/i/.env.cf-tmp-aaaaaaaaaaaa"]);
  });

  it("rejects relative paths and bad modes before sending anything", async () => {
    const sftp = new FakeSftp();
    await expect(uploadFiles(sftp, "h", "k6", [{ path: "rel/x", content: "", mode: 0o600 }])).rejects.toThrow("absolute");
    await expect(uploadFiles(sftp, "h", "k6", [{ path: "/x", content: "", mode: 0o10000 }])).rejects.toThrow("invalid mode");
    expect(sftp.calls).toEqual([]);
  });
});
