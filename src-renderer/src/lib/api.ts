// Typed calls that unwrap replies: a failed reply becomes an ApiCallError with its code.
import type {
  ApiArg,
  ApiMethod,
  ApiResult,
  ClientEvent,
  ConclaveBridge,
} from '../../../src-shared/api';
import { ApiFailure } from '../../../src-shared/api-errors';

/** The shared ApiFailure (src-shared/api-errors.ts), under the name the renderer knows it by. */
export const ApiCallError = ApiFailure;
export type ApiCallError = ApiFailure;

export class Api {
  constructor(private readonly bridge: ConclaveBridge) {}

  async call<M extends ApiMethod>(method: M, arg: ApiArg<M>): Promise<ApiResult<M>> {
    const reply = await this.bridge.call(method, arg);
    if (!reply.ok) throw new ApiCallError(reply.error.code, reply.error.message);
    return reply.value;
  }

  subscribe(listener: (event: ClientEvent) => void): () => void {
    return this.bridge.subscribe(listener);
  }
}

export function errorText(error: unknown): string {
  if (error instanceof ApiCallError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
