export { APP_NAME, APP_VERSION } from './app-info';
export { ClassifiedError, DependencyUnavailableError, FailureWithRecord } from './errors';
export type { Dependency } from './errors';
export { errorBody } from './error-body';
export type { ErrorBody } from './error-body';
export { IsIntegerInRange } from './integer-range';
export { storableText } from './storable-text';
export { isUuid } from './uuid';
