import 'reflect-metadata';
import { Inject } from '@nestjs/common';
import type { Type } from '@nestjs/common';
import { copyMetadataFromFunctionToFunction } from 'nestjs-otel/lib/opentelemetry.utils';
import type {
  AgentRunReport,
  AgentRunSubject,
  FailureReport,
  LlmCallFailureReport,
  LlmCallReport,
  LlmCallSubject,
  ToolCallSubject,
} from '../catalog';
import { AgentRunObserver } from './agent-run.observer';
import { failureReport } from './failure-report';
import { LlmCallObserver } from './llm-call.observer';
import { ToolCallObserver } from './tool-call.observer';

/** How an agent run's arguments and result read as the observer's records. */
export interface AgentRunDescriptor<A extends unknown[], R> {
  subject(...args: A): AgentRunSubject;
  report(result: R): AgentRunReport;
}

/** How a model call's arguments, result and failure read as the observer's records. */
export interface LlmCallDescriptor<A extends unknown[], R> {
  subject(...args: A): LlmCallSubject;
  report(result: R): LlmCallReport;
  failure(error: unknown): LlmCallFailureReport;
}

/** How a tool provider and its call's arguments read as the observer's records. */
export interface ToolCallDescriptor<T, A extends unknown[]> {
  subject(tool: T, ...args: A): ToolCallSubject;
  /** By default a classified error is an anticipated failure and anything else a crash. */
  failure?(error: unknown): FailureReport;
}

type AsyncMethod<A extends unknown[], R> = (...args: A) => Promise<R>;
type MethodDecorator<T, A extends unknown[], R> = (
  target: T,
  key: string | symbol,
  property: TypedPropertyDescriptor<AsyncMethod<A, R>>,
) => void;

/**
 * Marks AgentRunner.execute: the run is reported by the AgentRunObserver
 * (span, metrics, log lines), read through the typed descriptor.
 */
export function TraceAgent<A extends unknown[], R>(
  descriptor: AgentRunDescriptor<A, R>,
): MethodDecorator<object, A, R> {
  return observeWith(AgentRunObserver, (observer, _self, args, call) =>
    observer.observe(descriptor.subject(...args), call, (result) => descriptor.report(result)),
  );
}

/** Marks LlmClient.chat: one logical model call, reported by the LlmCallObserver. */
export function TraceLlmCall<A extends unknown[], R>(
  descriptor: LlmCallDescriptor<A, R>,
): MethodDecorator<object, A, R> {
  return observeWith(LlmCallObserver, (observer, _self, args, call) =>
    observer.observe(
      descriptor.subject(...args),
      call,
      (result) => descriptor.report(result),
      (error) => descriptor.failure(error),
    ),
  );
}

/** Marks a tool provider's execute: one tool call, reported by the ToolCallObserver. */
export function TraceTool<T extends object, A extends unknown[]>(
  descriptor: ToolCallDescriptor<T, A>,
): MethodDecorator<T, A, string> {
  return observeWith(ToolCallObserver, (observer, self: T, args, call) =>
    observer.observe(
      descriptor.subject(self, ...args),
      call,
      (error) => descriptor.failure?.(error) ?? failureReport(error),
    ),
  );
}

/**
 * Wraps a method so that each call goes through the observer, injected into
 * the instance by Nest (property injection, under a key of the observer's
 * own). An instance made outside Nest's container has no observer: its
 * method runs untouched, as with observability off. The wrapper keeps the
 * method's name, parameters and Nest metadata (nestjs-otel's helper), and
 * passes through whatever the method returns or throws.
 */
function observeWith<O, T extends object, A extends unknown[], R>(
  observerType: Type<O>,
  observe: (observer: O, self: T, args: A, call: () => Promise<R>) => Promise<R>,
): MethodDecorator<T, A, R> {
  const observerKey = Symbol.for(`eap.observer.${observerType.name}`);
  return (target, key, property) => {
    const original = property.value;
    if (typeof original !== 'function') {
      throw new TypeError(`Observing decorators apply to methods; ${String(key)} is not one`);
    }
    Inject(observerType)(target, observerKey);
    const wrapped = new Proxy(original, {
      apply(method, self: T & Partial<Record<symbol, O>>, args: A): Promise<R> {
        const observer = self?.[observerKey];
        if (observer === undefined) return Reflect.apply(method, self, args);
        return observe(observer, self, args, () => Reflect.apply(method, self, args));
      },
    });
    copyMetadataFromFunctionToFunction(original, wrapped);
    property.value = wrapped;
  };
}
