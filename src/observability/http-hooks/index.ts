export { registerObservability } from './register-observability';
