import { Client } from 'pg';
import type { ClientConfig } from 'pg';

/**
 * node-postgres emits 'error' on a Client when its connection dies while no
 * query is running on it (pg_terminate_backend, a failover, a server
 * restart), and an 'error' event nobody listens to crashes the process.
 * pg-pool listens while the client is idle and TypeORM while a query runner
 * holds it, but under load a terminated connection was seen to crash the app
 * (`Unhandled 'error' event ... 57P01`) in the hand-over between the two.
 * This client always has a listener, so the error is never fatal: it also
 * marks the client not queryable, so its next query fails (answered 503) and
 * the pool discards it on release; the pool and TypeORM still get the event.
 */
export class ResilientPgClient extends Client {
  constructor(config?: string | ClientConfig) {
    super(config);
    this.on('error', ignoreConnectionError);
  }
}

function ignoreConnectionError(): void {
  // Handled by whoever else listens (pool, query runner); never fatal here.
}
