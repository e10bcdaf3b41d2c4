import { createServer, Server, Socket, connect } from 'node:net';

/**
 * What the proxy does with connections:
 * - `forward`: relays bytes both ways to the target;
 * - `refuse`: nobody listens on the port (connections are refused) and open ones are dropped;
 * - `blackhole`: accepts connections and swallows every byte, answering nothing (a hung server).
 */
export type TcpProxyMode = 'forward' | 'refuse' | 'blackhole';

export interface TcpProxy {
  readonly port: number;
  readonly mode: TcpProxyMode;
  /** Client connections accepted so far. */
  readonly connectionCount: number;
  setMode(mode: TcpProxyMode): Promise<void>;
  close(): Promise<void>;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, switchable to refuse or
 * black-hole, so a test can make a dependency unreachable or hung after the
 * application started against it.
 */
export async function startTcpProxy(
  targetPort: number,
  targetHost = '127.0.0.1',
): Promise<TcpProxy> {
  let mode: TcpProxyMode = 'forward';
  const sockets = new Set<Socket>();
  let port = 0;
  let connectionCount = 0;

  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };

  const onConnection = (client: Socket): void => {
    connectionCount += 1;
    track(client);
    if (mode === 'blackhole') {
      client.resume();
      return;
    }
    const upstream = connect(targetPort, targetHost);
    track(upstream);
    // Bytes flow only while forwarding; in black-hole mode they are swallowed in both directions.
    client.on('data', (chunk) => {
      if (mode === 'forward') upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      if (mode === 'forward') client.write(chunk);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };

  const listen = (server: Server, onPort: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(onPort, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });

  let server: Server | undefined = createServer(onConnection);
  await listen(server, 0);
  port = (server.address() as { port: number }).port;

  const stopListening = async (): Promise<void> => {
    const running = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (running) await new Promise<void>((resolve) => running.close(() => resolve()));
  };

  return {
    port,
    get mode() {
      return mode;
    },
    get connectionCount() {
      return connectionCount;
    },
    async setMode(next) {
      if (next === mode) return;
      if (next === 'refuse') {
        mode = next;
        await stopListening();
        return;
      }
      if (mode === 'refuse') {
        server = createServer(onConnection);
        await listen(server, port);
      }
      mode = next;
    },
    close: stopListening,
  };
}
