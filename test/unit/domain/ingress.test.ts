import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/errors.js";
import { defaultPlansFile, parsePlans } from "../../../src/domain/plans.js";
import { checkSubdomain, loginUrl, publicUrl } from "../../../src/domain/subdomain.js";
import { readFileSync } from "node:fs";

const shipped = readFileSync(defaultPlansFile({}), "utf8");
const withIngress = (body: string) => parsePlans(`${shipped}\ningress:\n${body}`);

describe("ingress: in plans.yaml", () => {
  it("is optional: without it there is no proxy", () => {
    expect(parsePlans(shipped).plans!.ingress).toBeNull();
  });

  it("parses domain, tls, acmeEmail and a pinned image", () => {
    const { plans, errors } = withIngress("  domain: clawdet.example\n  tls: acme\n  acmeEmail: ops@clawdet.example\n  image: caddy:2.8.4\n");
    expect(errors).toEqual([]);
    expect(plans!.ingress).toEqual({ domain: "clawdet.example", tls: "acme", acmeEmail: "ops@clawdet.example", image: "caddy:2.8.4" });
  });

  it("names each problem by its path", () => {
    expect(withIngress("  domain: clawdet.example\n  tls: acme\n  image: caddy:2.8.4\n").errors).toEqual(["ingress.acmeEmail: required with tls: acme (Let's Encrypt sends expiry notices there)"]);
    expect(withIngress("  domain: clawdet.example\n  tls: internal\n  image: caddy:latest\n").errors[0]).toMatch(/^ingress\.image: .*:latest/);
    expect(withIngress("  domain: clawdet.example\n  tls: internal\n  image: caddy\n").errors[0]).toMatch(/^ingress\.image: .*no tag/);
    for (const bad of ["Clawdet.Example", "localhost", "-bad.example", "a..b", "under_score.example", `${"x".repeat(64)}.example`]) {
      expect(withIngress(`  domain: ${bad}\n  tls: internal\n  image: caddy:2.8.4\n`).errors[0], bad).toMatch(/^ingress\.domain: expected a lowercase DNS name/);
    }
    expect(withIngress("  domain: clawdet.example\n  tls: letsencrypt\n  image: caddy:2.8.4\n").errors[0]).toMatch(/^ingress\.tls: expected "acme"/);
    expect(withIngress("  domain: clawdet.example\n  tls: internal\n  image: caddy:2.8.4\n  admin: 2019\n").errors).toEqual(['ingress: unknown key "admin"']);
  });
});

describe("subdomains", () => {
  it("accepts DNS labels and refuses the rest with the fix", () => {
    for (const ok of ["acme", "a", "shop-2", "0day", "x".repeat(63)]) expect(checkSubdomain(ok)).toBe(ok);
    for (const bad of ["", "Acme", "-a", "a-", "a.b", "a_b", "x".repeat(64), "é"]) {
      expect(() => checkSubdomain(bad), bad).toThrow(InputError);
    }
    expect(() => checkSubdomain("www")).toThrow(/--subdomain: "www" is reserved/);
    expect(() => checkSubdomain(42)).toThrow(/not a DNS label/);
  });

  it("builds the public URL, and the login link as the only URL with the token", () => {
    expect(publicUrl("shop", "clawdet.example")).toBe("https://shop.clawdet.example/");
    expect(loginUrl("shop", "clawdet.example", "ab".repeat(32))).toBe(`https://shop.clawdet.example/?token=${"ab".repeat(32)}`);
  });
});
