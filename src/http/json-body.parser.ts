import { BadRequestException } from '@nestjs/common';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Deepest nesting a body may have: API bodies are a few levels deep, and deep ones stack-overflow the validator. */
export const MAX_BODY_DEPTH = 64;
/** Longest array a body may hold (agents list at most a few tools). */
export const MAX_BODY_ARRAY_LENGTH = 1000;

/** Keys whose value JavaScript treats as an object's prototype: never accepted from a client. */
const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A body the parser refused for what it holds (not for being malformed):
 * answered 400 naming the field, and logged at warn as a refused request.
 */
export class BodyRejectedException extends BadRequestException {}

/**
 * The only body parser: JSON, checked before any validation. Bodies of other
 * types answer 415 asking for JSON (a form-encoded body would otherwise reach
 * the validator as one odd key). Strings with a NUL character or a lone UTF-16
 * surrogate answer 400 naming the field (PostgreSQL refuses NUL in text, and a
 * lone surrogate would be stored as U+FFFD while the answer echoed it), as do
 * prototype keys, bodies nested deeper than MAX_BODY_DEPTH and arrays longer
 * than MAX_BODY_ARRAY_LENGTH. The body limit is Fastify's (413).
 */
export function registerJsonBodyParser(fastify: FastifyInstance): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser(
    'application/json',
    { parseAs: 'string' },
    (_request: FastifyRequest, body: string | Buffer, done) => {
      try {
        done(null, parseJsonBody(typeof body === 'string' ? body : body.toString('utf8')));
      } catch (error) {
        done(error as Error, undefined);
      }
    },
  );
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') {
    throw new BadRequestException("The body is empty but Content-Type is 'application/json'");
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BadRequestException(
      "Body is not valid JSON but content-type is set to 'application/json'",
    );
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BadRequestException('The body must be a JSON object');
  }
  checkBody(body);
  return body;
}

/** Walks the parsed body without recursion: a body 5,000 levels deep must not overflow the stack here. */
function checkBody(body: object): void {
  const pending: { value: unknown; path: string; depth: number }[] = [
    { value: body, path: '', depth: 1 },
  ];
  while (pending.length > 0) {
    const { value, path, depth } = pending.pop()!;
    if (typeof value === 'string') {
      checkText(value, path || 'body');
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth > MAX_BODY_DEPTH) {
      throw new BodyRejectedException(
        `${path || 'body'} is nested deeper than ${MAX_BODY_DEPTH} levels`,
      );
    }
    if (Array.isArray(value)) {
      if (value.length > MAX_BODY_ARRAY_LENGTH) {
        throw new BodyRejectedException(
          `${path || 'body'} has more than ${MAX_BODY_ARRAY_LENGTH} items`,
        );
      }
      value.forEach((item, index) =>
        pending.push({ value: item, path: `${path}[${index}]`, depth: depth + 1 }),
      );
      continue;
    }
    for (const key of Object.keys(value)) {
      const keyPath = path ? `${path}.${key}` : key;
      if (PROTOTYPE_KEYS.has(key)) {
        throw new BodyRejectedException(`The key ${JSON.stringify(key)} is not allowed in a body`);
      }
      checkText(key, `the key ${JSON.stringify(keyPath.slice(0, 64))}`);
      pending.push({
        value: (value as Record<string, unknown>)[key],
        path: keyPath,
        depth: depth + 1,
      });
    }
  }
}

function checkText(text: string, field: string): void {
  if (text.includes('\u0000')) {
    throw new BodyRejectedException(`${field} must not contain NUL characters (U+0000)`);
  }
  if (!text.isWellFormed()) {
    throw new BodyRejectedException(
      `${field} must be well-formed Unicode: it contains an unpaired UTF-16 surrogate`,
    );
  }
}
