export { DatabaseModule } from './database.module';
export { dataSourceOptions, databaseMode } from './data-source-options';
export { isDatabaseUnavailableError } from './database-errors';
