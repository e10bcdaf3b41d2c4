import Redis from 'ioredis';
import { LuaScript } from '../../../src/redis';
import { startRedisServer, type RedisServer } from '../../helpers/redis-server';

// A private server: the test flushes its script cache and restarts it.
describe('LuaScript against a real Redis', () => {
  let server: RedisServer;
  let redis: Redis;
  const incrementBy = new LuaScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`);

  beforeAll(async () => {
    server = await startRedisServer();
    redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  async function calls(command: 'eval' | 'evalsha'): Promise<number> {
    const info = await server.client().info('commandstats');
    const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info);
    return match ? Number(match[1]) : 0;
  }

  it('sends the body once, then runs the script by its SHA-1', async () => {
    const evalBefore = await calls('eval');
    expect(await incrementBy.run(redis, 1, 'lua:counter', 2)).toBe(2);
    expect(await incrementBy.run(redis, 1, 'lua:counter', 3)).toBe(5);
    expect(await incrementBy.run(redis, 1, 'lua:counter', 4)).toBe(9);

    expect((await calls('eval')) - evalBefore).toBe(1);
    expect(await calls('evalsha')).toBeGreaterThanOrEqual(3);
    expect(await server.client().script('EXISTS', incrementBy.sha1)).toEqual([1]);
  });

  it('sends the body again when the server forgot its scripts (SCRIPT FLUSH, a restart)', async () => {
    await server.client().script('FLUSH');
    expect(await incrementBy.run(redis, 1, 'lua:after-flush', 1)).toBe(1);

    await server.kill();
    await server.start();
    await new Promise<void>((resolve) => {
      if (redis.status === 'ready') resolve();
      else redis.once('ready', () => resolve());
    });
    expect(await incrementBy.run(redis, 1, 'lua:after-restart', 7)).toBe(7);
  });

  it('passes on every other error of the script', async () => {
    const failing = new LuaScript(`return redis.call('INCRBY', KEYS[1], 'not a number')`);
    await expect(failing.run(redis, 1, 'lua:counter')).rejects.toThrow(/not an integer/);
  });
});
