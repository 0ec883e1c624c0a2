import { InputError } from "../errors.js";

/** Host ports of one instance slot; all bound to 127.0.0.1. */
export interface PortSet {
  gateway: number;
  bridge: number;
  browser: number;
  cdpStart: number;
  cdpEnd: number;
}

/**
 * Ports inside the container, fixed by the gateway image. The CDP range is the gateway's default
 * browser-profile range (100 ports, 18800-18899), mapped 1:1 onto the slot's host CDP range.
 */
export const CONTAINER_PORTS: Readonly<PortSet> = Object.freeze({
  gateway: 18789,
  bridge: 18790,
  browser: 18791,
  cdpStart: 18800,
  cdpEnd: 18899,
});

export const CDP_PORT_COUNT = 100;
const MAX_PORT = 65535;

/** Host ports of a slot: gateway = base + slot*step, bridge +1, browser +2, CDP +9 … +108. */
export function portsForSlot(slot: number, basePort: number, portStep: number): PortSet {
  if (!Number.isInteger(slot) || slot < 0) throw new RangeError(`slot must be a whole number >= 0, got ${slot}`);
  const gateway = basePort + slot * portStep;
  const ports = {
    gateway,
    bridge: gateway + 1,
    browser: gateway + 2,
    cdpStart: gateway + 9,
    cdpEnd: gateway + 9 + CDP_PORT_COUNT - 1,
  };
  if (ports.cdpEnd > MAX_PORT) throw new RangeError(`slot ${slot} needs port ${ports.cdpEnd}, above ${MAX_PORT}`);
  return ports;
}

/** The highest slot whose ports still fit below 65536. */
export function maxSlot(basePort: number, portStep: number): number {
  return Math.floor((MAX_PORT - (basePort + 9 + CDP_PORT_COUNT - 1)) / portStep);
}

/** The lowest slot not in use, so slots freed by destroyed instances are reused first. */
export function lowestFreeSlot(usedSlots: Iterable<number>): number {
  const used = new Set(usedSlots);
  let slot = 0;
  while (used.has(slot)) slot++;
  return slot;
}

/** Every host port of a slot, for checking that none is already taken on the host. */
export function allHostPorts(ports: PortSet): number[] {
  const list = [ports.gateway, ports.bridge, ports.browser];
  for (let p = ports.cdpStart; p <= ports.cdpEnd; p++) list.push(p);
  return list;
}

/** The slot whose gateway port is `port` (`provision --port`); InputError when off the grid or out of range. */
export function slotForPort(port: number, basePort: number, portStep: number): number {
  const last = maxSlot(basePort, portStep);
  const grid = `gateway ports are ${basePort} + k×${portStep}, from ${basePort} to ${basePort + last * portStep}`;
  if (!Number.isInteger(port) || port < basePort || port > basePort + last * portStep) {
    throw new InputError(`--port ${port} is out of range: ${grid}`, "choose a port on the slot grid (plans.yaml basePort and portStep), or leave --port out");
  }
  const offset = (port - basePort) % portStep;
  if (offset !== 0) {
    const below = port - offset;
    const above = below + portStep;
    const near = above <= basePort + last * portStep ? `${below} or ${above}` : `${below}`;
    throw new InputError(`--port ${port} is not on the slot grid: ${grid}`, `the nearest are ${near}; the bridge, browser and CDP ports follow the gateway's at +1, +2 and +9…+108`);
  }
  return (port - basePort) / portStep;
}
