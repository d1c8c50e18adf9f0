// Typed calls that unwrap replies: a failed reply becomes an ApiCallError with its code.
import type {
  ApiArg,
  ApiError,
  ApiMethod,
  ApiResult,
  ClientEvent,
  ConclaveBridge,
} from '../../../src-shared/api';

export class ApiCallError extends Error {
  constructor(
    readonly code: ApiError['code'],
    message: string,
  ) {
    super(message);
    this.name = 'ApiCallError';
  }
}

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
