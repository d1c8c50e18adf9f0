// Expected failures of the client API, with the codes of src-shared/api-errors.ts. Anything else
// that escapes a handler is a bug and is reported as INTERNAL without its stack.
export { ApiFailure } from '../../src-shared/api-errors';
