export { ManagementModule } from './management.module';
export { ManagementServer } from './management.server';
