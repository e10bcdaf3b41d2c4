import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from '../config';
import { dataSourceOptions } from './data-source-options';

/**
 * The TypeORM connection, migrated at start. Entities register themselves via
 * TypeOrmModule.forFeature in their own modules (autoLoadEntities).
 */
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        ...dataSourceOptions(config, []),
        autoLoadEntities: true,
        // Nest's own retry loop would hide a wrong DATABASE_URL behind minutes of silence.
        retryAttempts: 0,
      }),
    }),
  ],
})
export class DatabaseModule {}
