import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createArchive, openPlain } from "../../../../src/app/backup/archive.js";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const dir = () => path.join(mkdtempSync(path.join(os.tmpdir(), "cf-archive-")), "backups", "acme");
const feed = async (w: { input: NodeJS.WritableStream }, data: Buffer) => {
  for (let i = 0; i < data.length; i += 65536) w.input.write(data.subarray(i, i + 65536));
};

describe("backup archives on the control machine", () => {
  it("is 0600 from birth under a .partial name, in a 0700 dir, and renamed only after both hashes check", async () => {
    const d = dir();
    const final = path.join(d, "a.tar");
    const data = randomBytes(300_000);
    let seen = 0;
    const w = await createArchive(final, { onBytes: (n) => (seen = n) });
    expect(readdirSync(d)).toEqual(["a.tar.partial"]);
    expect(statSync(`${final}.partial`).mode & 0o777).toBe(0o600);
    expect(statSync(d).mode & 0o777).toBe(0o700);
    await feed(w, data);
    const info = await w.commit(sha(data));
    expect(info).toEqual({ bytes: data.length, sha256: sha(data), plainBytes: data.length, plainSha256: sha(data) });
    expect(seen).toBe(data.length);
    expect(readdirSync(d)).toEqual(["a.tar"]);
    expect(readFileSync(final).equals(data)).toBe(true);
    expect(statSync(final).mode & 0o777).toBe(0o600);
  });

  it("refuses a stream whose hash is not the host's, and leaves no file", async () => {
    const d = dir();
    const w = await createArchive(path.join(d, "b.tar"));
    await feed(w, randomBytes(1000));
    await expect(w.commit("0".repeat(64))).rejects.toThrow(/arrived damaged/);
    await w.abort();
    expect(readdirSync(d)).toEqual([]);
  });

  it("abort removes the partial file at any point", async () => {
    const d = dir();
    const w = await createArchive(path.join(d, "c.tar"));
    await feed(w, randomBytes(5000));
    await w.abort();
    await w.abort();
    expect(readdirSync(d)).toEqual([]);
  });

  it("never overwrites: a second writer on the same name fails", async () => {
    const d = dir();
    const w = await createArchive(path.join(d, "d.tar"));
    await expect(createArchive(path.join(d, "d.tar"))).rejects.toThrow(/EEXIST/);
    await w.abort();
  });

  it("encrypts to an age recipient; only the identity reads it back", async () => {
    const { generateX25519Identity, identityToRecipient } = await import("age-encryption");
    const id = await generateX25519Identity();
    const d = dir();
    const final = path.join(d, "e.tar.age");
    const data = Buffer.concat([Buffer.from("secret-marker "), randomBytes(200_000)]);
    const w = await createArchive(final, { recipient: await identityToRecipient(id) });
    await feed(w, data);
    const info = await w.commit(sha(data));
    const file = readFileSync(final);
    expect(info.sha256).toBe(sha(file));
    expect(info.plainSha256).toBe(sha(data));
    expect(file.includes(Buffer.from("secret-marker"))).toBe(false);
    const chunks: Buffer[] = [];
    for await (const c of await openPlain(final, id)) chunks.push(Buffer.from(c as Uint8Array));
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    const other = await generateX25519Identity();
    await expect(openPlain(final, other)).rejects.toThrow(/cannot decrypt/);
  });
});
