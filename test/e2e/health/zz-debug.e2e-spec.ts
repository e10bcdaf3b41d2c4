import { startTestApp } from '../../helpers/app';
import { createTestDatabase } from '../../helpers/database';
import { getHealth } from '../../helpers/health';
import { startRedisServer } from '../../helpers/redis-server';
import { startTcpProxy } from '../../helpers/tcp-proxy';

it('debug close', async () => {
  const db = await createTestDatabase('dbg');
  const redis = await startRedisServer();
  const proxy = await startTcpProxy(5432);
  const u = new URL(db.url); u.port = String(proxy.port);
  const app = await startTestApp({ DATABASE_URL: u.toString(), REDIS_URL: redis.url, HEALTH_CHECK_TIMEOUT_MS: '300' });
  const mode = process.env.DBG_MODE ?? 'both';
  if (mode !== 'redis') await proxy.setMode('refuse');
  if (mode !== 'db') await redis.kill();
  console.log(JSON.stringify((await getHealth(app.url, '/health')).body));
  const t = Date.now();
  const orig = app.app.close.bind(app.app);
  const timer = setInterval(() => console.log('still closing', Date.now() - t, process.getActiveResourcesInfo().join(',')), 3000);
  await orig();
  clearInterval(timer);
  console.log('closed in', Date.now() - t);
  await proxy.close(); await redis.stop(); await db.drop();
}, 60000);
