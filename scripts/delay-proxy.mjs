#!/usr/bin/env node
// TCP proxy that delays every chunk by rtt/2 in each direction, in order, to emulate WAN latency
// in front of a sandbox sshd: the kernel here has no netem. No dependencies.
// Usage: node scripts/delay-proxy.mjs --listen HOST:PORT --target HOST:PORT --rtt MS
// Prints "listening HOST:PORT -> ... pid N" once ready (PORT 0 picks a free port).
import net from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    listen: { type: "string" },
    target: { type: "string" },
    rtt: { type: "string", default: "50" },
  },
});

function hostPort(flag, text) {
  const at = text?.lastIndexOf(":") ?? -1;
  const port = Number(text?.slice(at + 1));
  if (at < 1 || !Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`delay-proxy: --${flag} must be HOST:PORT, got ${text ?? "nothing"}`);
    process.exit(2);
  }
  return { host: text.slice(0, at), port };
}

const listen = hostPort("listen", values.listen);
const target = hostPort("target", values.target);
const rtt = Number(values.rtt);
if (!Number.isFinite(rtt) || rtt < 0) {
  console.error(`delay-proxy: --rtt must be a number of milliseconds, got ${values.rtt}`);
  process.exit(2);
}

// Forwards src to dest with a fixed delay. One timer per direction keeps chunks in order.
// A null chunk stands for end-of-stream. Returns a function to call once dest can be written.
function delayedPipe(src, dest, delay, isReady) {
  const queue = [];
  let timer = null;
  const schedule = () => {
    if (timer || queue.length === 0 || !isReady()) return;
    timer = setTimeout(flush, Math.max(0, queue[0].due - performance.now()));
  };
  const flush = () => {
    timer = null;
    while (queue.length > 0 && queue[0].due <= performance.now() && !dest.destroyed) {
      const { chunk } = queue.shift();
      if (chunk === null) dest.end();
      else if (!dest.write(chunk)) {
        src.pause();
        dest.once("drain", () => src.resume());
      }
    }
    schedule();
  };
  const push = (chunk) => {
    queue.push({ due: performance.now() + delay, chunk });
    schedule();
  };
  src.on("data", push);
  src.on("end", () => push(null));
  // A reset or error reaches the other side late too, like a real RST.
  src.on("close", (hadError) => hadError && setTimeout(() => dest.destroy(), delay));
  src.on("error", () => {});
  return schedule;
}

const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
  const upstream = new net.Socket({ allowHalfOpen: true });
  let connected = false;
  const flushToUpstream = delayedPipe(client, upstream, rtt / 2, () => connected);
  delayedPipe(upstream, client, rtt / 2, () => true);
  // A real server only accepts after the SYN, SYN-ACK, ACK exchange: 1.5 RTT after connect().
  setTimeout(() => {
    if (client.destroyed) return;
    upstream.connect({ host: target.host, port: target.port, noDelay: true }, () => {
      connected = true;
      flushToUpstream();
    });
  }, rtt * 1.5);
});

server.on("error", (err) => {
  console.error(`delay-proxy: ${err.message}`);
  process.exit(1);
});
server.listen(listen.port, listen.host, () => {
  const { address, port } = server.address();
  console.log(`listening ${address}:${port} -> ${target.host}:${target.port} rtt ${rtt}ms pid ${process.pid}`);
});
