export { HttpExceptionFilter, toErrorBody } from './http-exception.filter';
export { createValidationPipe } from './validation.pipe';
export { handleClientError } from './client-error.handler';
export { createFrameworkErrorHandler } from './framework-errors.handler';
