export { RedisModule } from './redis.module';
export { RedisService, RedisUnavailableError, createRedisClient } from './redis.service';
