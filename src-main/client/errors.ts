// Expected failures of the client API, with the codes of src-shared/api.ts. Anything else that
// escapes a handler is a bug and is reported as INTERNAL without its stack.
import type { ApiError } from '../../src-shared/api';

export class ApiFailure extends Error {
  constructor(
    readonly code: ApiError['code'],
    message: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}
