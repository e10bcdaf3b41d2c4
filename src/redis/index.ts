export { RedisModule } from './redis.module';
export { RedisService, createRedisClient } from './redis.service';
export { LuaScript } from './lua-script';
export { RedisChannel } from './redis-channel';
export type { RedisChannelOptions } from './redis-channel';
