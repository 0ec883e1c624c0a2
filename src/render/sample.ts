import type { PlanSpec } from "../domain/plans.js";
import { portsForSlot } from "../domain/ports.js";
import type { InstanceContext } from "./context.js";
import { effectiveSettings } from "../domain/settings.js";

/** Sample secrets: well-formed, obviously fake, and easy to spot if a template leaks them. */
export const SAMPLE_GATEWAY_TOKEN = "5a3c1e".padEnd(64, "0");
export const SAMPLE_API_KEY = "sk-ant-sample-not-a-real-key-0000";

/** A complete context for `planSpec` (customer `sample-<plan>`, slot 1), for validate-config and tests. */
export function renderSampleContext(planSpec: PlanSpec, overrides: Partial<InstanceContext> = {}): InstanceContext {
  const customerId = overrides.customerId ?? `sample-${planSpec.name}`.slice(0, 32);
  const remoteRoot = overrides.remoteRoot ?? "/opt/clawfleet";
  return {
    customerId,
    plan: planSpec.name,
    planSpec,
    image: planSpec.image,
    ports: portsForSlot(1, planSpec.basePort, planSpec.portStep),
    gatewayToken: SAMPLE_GATEWAY_TOKEN,
    apiKey: SAMPLE_API_KEY,
    instanceDir: `${remoteRoot}/instances/${customerId}`,
    remoteRoot,
    settings: effectiveSettings(planSpec, {}),
    ...overrides,
  };
}

/** A sample proxy session secret, distinct from the sample token. */
export const SAMPLE_SESSION_SECRET = "5e551e".padEnd(64, "0");
