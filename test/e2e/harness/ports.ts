// Free loopback ports for servers a test starts. They are drawn below the kernel's ephemeral
// range: a port the kernel hands out for port 0 is also what it gives the next outgoing
// connection, which could take it between the probe and the server's own bind.
import fs from 'node:fs';
import net from 'node:net';

const FIRST = 10_000;

/** The first port of the kernel's ephemeral range (Linux), or Node's guess elsewhere. */
function ephemeralStart(): number {
  try {
    return Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

const LAST = ephemeralStart() - 1;
/** Ports already handed out by this process, not to be handed out twice before they are bound. */
const handedOut = new Set<number>();

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function kernelChosen(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function freePort(): Promise<number> {
  if (LAST - FIRST >= 1_000) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const port = FIRST + Math.floor(Math.random() * (LAST - FIRST));
      if (handedOut.has(port) || !(await bindable(port))) continue;
      handedOut.add(port);
      return port;
    }
  }
  return kernelChosen();
}
