import { describe, expect, it } from "vitest";
import { classifySites } from "../../../../src/app/ingress/reconcile-sites.js";
import type { HostRecord, InstanceRecord } from "../../../../src/store/types.js";

const host = (name: string): HostRecord => ({ id: name, name, address: "127.0.1.1", port: 22, user: "u", identityFile: null, hostKey: "k", remoteRoot: `/srv/${name}`, shared: true, capacityMb: null, status: "active", dockerOk: true, createdAt: new Date() });
const row = (customerId: string, hostId: string, status = "healthy"): InstanceRecord => ({ customerId, hostId, status, subdomain: customerId }) as InstanceRecord;

describe("classifySites", () => {
  const a = host("a");
  const rows = [row("live", "a"), row("gone", "a", "destroyed"), row("elsewhere", "b"), row("nosite", "a"), row("paused", "a", "stopped")];

  it("reports sites that serve no live instance of this host, and live instances without a site", () => {
    const findings = classifySites(a, ["live", "gone", "elsewhere", "stranger", "paused"], rows, true);
    expect(findings.map((f) => `${f.kind}:${f.customerId}`)).toEqual(["site-orphan:gone", "site-orphan:elsewhere", "site-orphan:stranger", "site-missing:nosite"]);
    expect(findings[0]!.detail).toBe("site /srv/a/proxy/sites/gone.caddy serves nothing: its instance was destroyed");
    expect(findings[1]!.detail).toContain("on another host");
    expect(findings[2]!.detail).toContain("no such instance in the DB");
    expect(findings[3]!.detail).toBe("no site file on a: nosite is not served");
  });

  it("without ingress configured, a missing site is expected", () => {
    expect(classifySites(a, [], rows, false)).toEqual([]);
  });
});
