import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, expect, it } from "vitest";
import { openStore } from "../../src/store/open.js";
import { runCli, tempDbUrl } from "./cli.js";
import { describeSandbox, sandboxHosts } from "./sandbox.js";

const WRONG = "SHA256:" + "A".repeat(43);

describeSandbox("clawfleet hosts (real sshd)", () => {
  let db: string;
  const env = () => ({ CLAWFLEET_DATABASE_URL: db });
  const h = () => sandboxHosts()[0]!;
  const ssh = (x = h()) => `${x.user}@${x.address}:${x.port}`;

  beforeAll(() => {
    db = tempDbUrl();
  });

  it("--accept-new records the fingerprint the host really has", async () => {
    const r = await runCli(["hosts", "add", "a1", "--ssh", ssh(), "--identity", h().identityFile, "--accept-new", "--remote-root", h().remoteRoot, "--json"], env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().fingerprint).toBe(h().fingerprint);
    const list = await runCli(["hosts", "list", "--json"], env());
    expect(list.json().hosts).toMatchObject([{ name: "a1", hostKey: h().fingerprint, user: h().user }]);
    const human = await runCli(["hosts", "list"], env());
    expect(human.stdout).toContain(h().fingerprint);
  });

  it("a wrong --host-key is refused with exit 5, nothing recorded, and an Event says why", async () => {
    const r = await runCli(["hosts", "add", "a2", "--ssh", ssh(), "--identity", h().identityFile, "--host-key", WRONG], env());
    expect(r.code).toBe(5);
    expect(r.stderr).toContain(h().fingerprint);
    const store = await openStore(db);
    try {
      expect(await store.hosts.get("a2")).toBeNull();
      expect(await store.events.list({ target: "a2" })).toMatchObject([{ action: "host.key-refused", outcome: "refused" }]);
    } finally {
      await store.close();
    }
  });

  it.each([
    ["neither --host-key nor --accept-new", (x: any) => ["hosts", "add", "b1", "--ssh", ssh(x), "--identity", x.identityFile], 2, /ssh-keyscan -p \d+ [\d.]+ \| ssh-keygen -lf -/],
    ["a malformed --ssh", (x: any) => ["hosts", "add", "b2", "--ssh", "no-at-sign", "--accept-new"], 2, /--ssh/],
    ["a missing identity file", (x: any) => ["hosts", "add", "b3", "--ssh", ssh(x), "--identity", "/nonexistent/key", "--accept-new"], 2, /\/nonexistent\/key/],
    ["a refused connection", (x: any) => ["hosts", "add", "b4", "--ssh", `${x.user}@127.0.1.250:2222`, "--identity", x.identityFile, "--accept-new"], 1, /127\.0\.1\.250/],
    ["a duplicate name", (x: any) => ["hosts", "add", "a1", "--ssh", ssh(x), "--identity", x.identityFile, "--accept-new"], 4, /already exists/],
    ["an unknown host on remove", () => ["hosts", "remove", "nope"], 3, /no host named nope/],
  ])("%s gets one clear line and its exit code", async (_name, args, code, message) => {
    const r = await runCli(args(h()), env());
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack traces
  });

  it("authentication failure with a key the host does not know exits 1", async () => {
    const key = path.join(mkdtempSync(path.join(os.tmpdir(), "cf-key-")), "unknown_ed25519");
    execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", key]);
    const r = await runCli(["hosts", "add", "b5", "--ssh", ssh(), "--identity", key, "--host-key", h().fingerprint], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/authentication failed/i);
  });
});
