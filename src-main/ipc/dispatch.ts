// The one place where an untrusted call (method name and argument from a renderer, over IPC or
// the browser host's WebSocket) meets the runtime's handlers. It validates both, runs the
// handler and always resolves to a Reply: expected failures keep their code and message,
// anything else becomes INTERNAL with no stack or detail crossing the boundary.
import * as v from 'valibot';
import type { ApiError, ApiHandlers, ApiMethod, Reply } from '../../src-shared/api';
import { API_METHODS } from '../../src-shared/api';
import { isApiErrorCode } from '../../src-shared/api-errors';
import { ApiFailure } from '../client/errors';
import { ARG_SCHEMAS } from './schemas';

export type Dispatch = (method: unknown, arg: unknown) => Promise<Reply<unknown>>;

export function isApiMethod(method: unknown): method is ApiMethod {
  return typeof method === 'string' && (API_METHODS as readonly string[]).includes(method);
}

function fail(code: ApiError['code'], message: string): Reply<never> {
  return { ok: false, error: { code, message } };
}

/** Maps a thrown value to a reply error; only ApiFailure (or its shape) keeps its message. */
export function toApiError(error: unknown): ApiError {
  if (
    error instanceof ApiFailure ||
    (error instanceof Error &&
      error.name === 'ApiFailure' &&
      isApiErrorCode((error as { code?: unknown }).code))
  ) {
    return { code: (error as ApiFailure).code, message: error.message };
  }
  return { code: 'INTERNAL', message: 'internal error (details are in the application log)' };
}

export interface DispatchOptions {
  /** Where unexpected failures are reported (never to the caller). */
  onInternalError?: (method: ApiMethod, error: unknown) => void;
}

export function createDispatch(
  handlers: ApiHandlers | (() => Promise<ApiHandlers>),
  options: DispatchOptions = {},
): Dispatch {
  const report =
    options.onInternalError ??
    ((method, error) => console.error(`conclave: ${method} failed unexpectedly`, error));
  const resolve = typeof handlers === 'function' ? handlers : async () => handlers;
  return async (method, arg) => {
    if (!isApiMethod(method)) return fail('BAD_ARGUMENT', 'unknown method');
    const parsed = v.safeParse(ARG_SCHEMAS[method], arg);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const where = issue.path?.map((p) => String(p.key)).join('.') ?? '';
      return fail('BAD_ARGUMENT', `${method}: ${where ? `${where}: ` : ''}${issue.message}`);
    }
    try {
      const all = await resolve();
      const handler = all[method] as (a: unknown) => Promise<unknown>;
      const value = await handler(parsed.output);
      return { ok: true, value };
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.code === 'INTERNAL') report(method, error);
      return { ok: false, error: apiError };
    }
  };
}
