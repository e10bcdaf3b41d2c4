import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One alert of an Alertmanager webhook notification (payload version 4). */
export interface WebhookAlert {
  readonly status: 'firing' | 'resolved';
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
  readonly fingerprint: string;
}

/** What Alertmanager POSTs to a webhook receiver. */
export interface WebhookNotification {
  readonly version: string;
  readonly groupKey: string;
  readonly status: 'firing' | 'resolved';
  readonly receiver: string;
  readonly groupLabels: Record<string, string>;
  readonly commonLabels: Record<string, string>;
  readonly commonAnnotations: Record<string, string>;
  readonly externalURL: string;
  readonly alerts: WebhookAlert[];
  /** Added here: when it arrived (ms epoch). */
  readonly receivedAt: number;
}

export interface AlertWebhook {
  /** The URL to give Alertmanager's webhook_configs. */
  readonly url: string;
  /** Every notification received, oldest first. */
  readonly notifications: readonly WebhookNotification[];
  /** Every alert of the notifications from index `since` on, flattened, oldest first. */
  alertsSince(since: number): WebhookAlert[];
  /** Requests that were not a well-formed notification (a test expects none). */
  readonly rejected: readonly string[];
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * An in-test webhook receiver on 127.0.0.1: it answers 200 to each POSTed
 * Alertmanager notification and keeps it, so a test can see exactly what an
 * on-call pager would have been sent.
 */
export async function startAlertWebhook(path = '/alerts'): Promise<AlertWebhook> {
  const notifications: WebhookNotification[] = [];
  const rejected: string[] = [];
  const sockets = new Set<Socket>();

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'POST' || req.url !== path) {
      rejected.push(`${req.method} ${req.url}`);
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        if (size > MAX_BODY_BYTES) throw new Error(`body of ${size} bytes`);
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookNotification;
        if (!Array.isArray(body.alerts)) throw new Error('no alerts array');
        notifications.push({ ...body, receivedAt: Date.now() });
        res.writeHead(200).end();
      } catch (error) {
        rejected.push(`POST ${path}: ${(error as Error).message}`);
        res.writeHead(400).end();
      }
    });
  };

  const server = createServer(handle);
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${path}`,
    notifications,
    rejected,
    alertsSince: (since) => notifications.slice(since).flatMap((entry) => entry.alerts),
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
