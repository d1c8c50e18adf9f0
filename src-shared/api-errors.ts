// The API's error codes, defined once for the runtime, the IPC dispatch and the renderer, and the
// one error class that carries them: thrown by the runtime's handlers for expected failures,
// and by the renderer's typed calls for a failed reply.

export const API_ERROR_CODES = [
  'BAD_ARGUMENT',
  'NO_IDENTITY',
  'LOCKED',
  'UNKNOWN_ROOM',
  'NOT_MEMBER',
  'RELAY',
  'STORAGE',
  'INTERNAL',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

export function isApiErrorCode(code: unknown): code is ApiErrorCode {
  return (API_ERROR_CODES as readonly unknown[]).includes(code);
}

/** An expected failure with one of the API's codes; anything else is a bug (INTERNAL). */
export class ApiFailure extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}
