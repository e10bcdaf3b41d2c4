import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { PGliteDriver } from 'typeorm-pglite';
import type { AppConfig } from '../config';
import { MIGRATIONS } from './migrations';
import { ResilientPgClient } from './resilient-pg-client';

/**
 * One code path for both modes: TypeORM's postgres dialect, talking either to
 * a PostgreSQL server through `pg`, or to PGlite (PostgreSQL compiled to WASM,
 * in-process) through typeorm-pglite's pg-compatible pool. The same
 * migrations run in both.
 */
export function dataSourceOptions(
  config: AppConfig,
  entities: DataSourceOptions['entities'],
): DataSourceOptions {
  const common = {
    type: 'postgres' as const,
    entities,
    migrations: MIGRATIONS,
    migrationsRun: true,
    migrationsTransactionMode: 'each' as const,
    synchronize: false,
    logging: false,
    // gen_random_uuid() is built into PostgreSQL >= 13 and PGlite; PGlite has no uuid-ossp.
    uuidExtension: 'pgcrypto' as const,
    installExtensions: false,
  };
  if (config.database.url) {
    return {
      ...common,
      url: config.database.url,
      applicationName: 'enterprise-agent-platform',
      connectTimeoutMS: 5000,
      poolSize: 10,
      // Bounded waits: a hung server fails a query instead of hanging a request.
      extra: {
        statement_timeout: 15_000,
        query_timeout: 20_000,
        idleTimeoutMillis: 30_000,
        // pg-pool builds its clients from this class: a dropped connection never crashes the process.
        Client: ResilientPgClient,
      },
    };
  }
  const dataDir = resolve(config.database.dataDir, 'pglite');
  mkdirSync(dataDir, { recursive: true });
  return { ...common, driver: new PGliteDriver({ dataDir }).driver };
}

export function databaseMode(config: AppConfig): 'postgres' | 'embedded' {
  return config.database.url ? 'postgres' : 'embedded';
}
