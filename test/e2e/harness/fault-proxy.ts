// A loopback TCP proxy in front of one server, for end-to-end tests that cut the network between
// a client and that server. Healthy, it forwards bytes both ways. Partitioned, it cuts every open
// connection and accepts new ones without forwarding anything, as a peer behind a dead link
// would: the client connects but never hears back.
import net from 'node:net';

export class FaultProxy {
  private readonly forwarding = new Set<net.Socket>(); // both ends of every forwarded connection
  private readonly hanging = new Set<net.Socket>(); // accepted during a partition
  private partitioned = false;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly server: net.Server,
    private readonly target: { host: string; port: number },
    readonly port: number,
  ) {
    server.on('connection', (socket) => this.accept(socket));
  }

  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new FaultProxy(server, target, (server.address() as net.AddressInfo).port);
  }

  /** Cuts every open connection and makes new ones hang (accepted, then silently dropped, no data forwarded) until heal(). */
  partition(): void {
    this.partitioned = true;
    for (const socket of this.forwarding) socket.destroy();
  }

  /**
   * New connections are forwarded again. Connections left hanging are cut: the bytes they sent
   * were thrown away, so their streams cannot resume, and a reset makes their clients reconnect.
   */
  heal(): void {
    this.partitioned = false;
    for (const socket of this.hanging) socket.destroy();
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      for (const socket of [...this.forwarding, ...this.hanging]) socket.destroy();
    });
    return this.closing;
  }

  private accept(client: net.Socket): void {
    // Errors end in 'close', which does the cleanup; without a listener they would be thrown.
    client.on('error', () => {});
    if (this.closing) {
      client.destroy();
      return;
    }
    if (this.partitioned) {
      this.hanging.add(client);
      client.once('close', () => this.hanging.delete(client));
      client.resume(); // read and discard, so the client's writes neither block nor arrive
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    upstream.on('error', () => {});
    for (const socket of [client, upstream]) {
      this.forwarding.add(socket);
      socket.once('close', () => {
        this.forwarding.delete(socket);
        // When one side goes, the other goes too: a half-dead connection would only mislead.
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  }
}
