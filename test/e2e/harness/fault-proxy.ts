// A TCP proxy in front of a listener, to cut a member's peer links in fault tests.
import net from 'node:net';

export class FaultProxy {
  private readonly sockets = new Set<net.Socket>();
  private partitioned = false;

  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    let proxy!: FaultProxy;
    const server = net.createServer((inbound) => proxy.accept(inbound, target));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new FaultProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  private accept(inbound: net.Socket, target: { host: string; port: number }): void {
    this.track(inbound);
    if (this.partitioned) return void inbound.on('data', () => {}); // accepted, then silence
    const outbound = this.track(net.connect(target));
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  }

  private track(s: net.Socket): net.Socket {
    this.sockets.add(s);
    s.on('error', () => s.destroy());
    s.on('close', () => this.sockets.delete(s));
    return s;
  }

  /** Cuts every open connection; new ones hang until heal(). */
  partition(): void {
    this.partitioned = true;
    for (const s of this.sockets) s.destroy();
  }

  heal(): void {
    this.partitioned = false;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
