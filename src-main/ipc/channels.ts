// IPC channel names shared by the main process and the preload. Two channels, nothing else:
// request/response calls (`invoke`) and pushed client events (`send`).
export const CALL_CHANNEL = 'conclave:call';
export const EVENT_CHANNEL = 'conclave:event';
