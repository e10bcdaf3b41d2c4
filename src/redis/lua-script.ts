import { createHash } from 'node:crypto';
import type Redis from 'ioredis';

/**
 * A Lua script run by its SHA-1 (EVALSHA), sent whole (EVAL) only when the
 * server does not know it yet: after a restart, a failover, a SCRIPT FLUSH or
 * on a cluster node that never ran it. Scripts run on every model call; sent
 * whole each time they were kilobytes a call on the wire and in the Redis span's
 * `db.statement`, and Redis hashed the body again for every call.
 */
export class LuaScript {
  readonly sha1: string;

  constructor(readonly source: string) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, numberOfKeys: number, ...args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha1, numberOfKeys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return redis.eval(this.source, numberOfKeys, ...args);
    }
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
