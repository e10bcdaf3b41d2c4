export { InfoModule } from './info.module';
