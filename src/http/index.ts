export { answerBody, HttpExceptionFilter, toErrorBody } from './http-exception.filter';
export { createValidationPipe } from './validation.pipe';
export { handleClientError } from './client-error.handler';
export { createFrameworkErrorHandler } from './framework-errors.handler';
export {
  BodyRejectedException,
  MAX_BODY_ARRAY_LENGTH,
  MAX_BODY_DEPTH,
  parseJsonBody,
  registerJsonBodyParser,
} from './json-body.parser';
